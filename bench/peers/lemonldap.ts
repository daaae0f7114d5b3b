/**
 * LemonLDAP::NG (Debian's packages) as a peer: its portal run by the package's FastCGI server
 * (llng-fastcgi-server, its default of 7 processes) behind nginx (one worker per core), as the
 * package's nginx configuration does. The configuration is the package's default one (file
 * backend, sessions in files, the Demo authentication and user backends) with the storage in
 * this folder, the portal on a loopback port, and the OpenID Connect issuer on: RS256, one
 * confidential client (client secret, exact redirect URI, PKCE required, consent not asked, as
 * for a first-party client).
 *
 * The Demo backend's users are dwho, rtyler and msmith, each with their user name as password:
 * it stores no password and hashes none, so a login here costs no password hashing at all.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../cli/free-ports.ts';
import { REDIRECT_URI } from '../../test/helpers/flows.ts';
import { measuredByCpu, peerRelyingParty, type LoginServer, type Peer } from './login-server.ts';
import { PeerProcesses } from './processes.ts';

/** The configuration the package installs. */
const PACKAGE_CONFIG = '/var/lib/lemonldap-ng/conf/lmConf-1.json';
const DEMO_USERS = ['dwho', 'rtyler', 'msmith'];
const CLIENT_ID = 'benchrp';
const CLIENT_SECRET = 'benchClientSecret0123456789';
/** The packaged servers refuse to run as root: then their processes run as the web server's user. */
const RUN_AS = 'www-data';

function portalConfig(dir: string, portal: string): Record<string, unknown> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const packaged = JSON.parse(readFileSync(PACKAGE_CONFIG, 'utf8')) as Record<string, unknown>;
  return {
    ...packaged,
    portal,
    domain: '127.0.0.1',
    globalStorageOptions: {
      Directory: join(dir, 'sessions'),
      LockDirectory: join(dir, 'sessions/lock'),
      generateModule: 'Lemonldap::NG::Common::Apache::Session::Generate::SHA256',
    },
    persistentStorageOptions: { Directory: join(dir, 'psessions'), LockDirectory: join(dir, 'psessions/lock') },
    localSessionStorageOptions: {
      cache_depth: 3,
      cache_root: join(dir, 'cache'),
      default_expires_in: 600,
      directory_umask: '007',
      namespace: 'lemonldap-ng-sessions',
    },
    notificationStorageOptions: { dirName: join(dir, 'notifications') },
    // The package's example hosts go: only the portal is served here.
    locationRules: { '127.0.0.1': { default: 'accept' } },
    exportedHeaders: {},
    reloadUrls: {},
    issuerDBOpenIDConnectActivation: 1,
    oidcServicePrivateKeySig: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    oidcServicePublicKeySig: publicKey.export({ type: 'spki', format: 'pem' }),
    oidcServiceKeyIdSig: 'bench',
    oidcRPMetaDataOptions: {
      bench: {
        oidcRPMetaDataOptionsClientID: CLIENT_ID,
        oidcRPMetaDataOptionsClientSecret: CLIENT_SECRET,
        oidcRPMetaDataOptionsRedirectUris: REDIRECT_URI,
        oidcRPMetaDataOptionsRequirePKCE: 1,
        oidcRPMetaDataOptionsBypassConsent: 1,
        oidcRPMetaDataOptionsIDTokenSignAlg: 'RS256',
      },
    },
    oidcRPMetaDataExportedVars: { bench: { name: 'cn', email: 'mail', preferred_username: 'uid' } },
  };
}

const iniFile = (dir: string) => `[all]
logLevel = warn
[configuration]
type = File
dirName = ${join(dir, 'conf')}
localStorage = Cache::FileCache
localStorageOptions = { 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'directory_umask' => '007', 'cache_root' => '${join(dir, 'cache')}', 'cache_depth' => 3 }
[portal]
staticPrefix = /static
templateDir = /usr/share/lemonldap-ng/portal/templates
languages = en
[handler]
status = 0
`;

/** The package's portal-nginx.conf on a loopback port, its paths in this folder. */
const nginxConfig = (dir: string, port: number, runAs: string | null) => `worker_processes auto;
${runAs ? `user ${runAs};` : ''}
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 512; }
http {
  access_log off;
  ${['client_body', 'fastcgi', 'proxy', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, 'nginx-temp')};`).join('\n  ')}
  include /etc/nginx/mime.types;
  keepalive_timeout 5s;
  upstream llng_portal_upstream { server unix:${join(dir, 'llng-fastcgi.sock')}; }
  server {
    listen 127.0.0.1:${port};
    root /usr/share/lemonldap-ng/portal/htdocs/;
    if ($uri !~ ^/((static|javascript|favicon).*|.*\\.psgi)) {
      rewrite ^/(.*)$ /index.psgi/$1 break;
    }
    location ~ ^(?<sc>/.*\\.psgi)(?:$|/) {
      include /etc/nginx/fastcgi_params;
      fastcgi_pass llng_portal_upstream;
      fastcgi_param HTTP_HOST $host;
      fastcgi_param LLTYPE psgi;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_split_path_info ^(.*\\.psgi)(/.*)$;
      fastcgi_param PATH_INFO $fastcgi_path_info;
    }
    location /static/ { alias /usr/share/lemonldap-ng/portal/htdocs/static/; }
    location /javascript/ { alias /usr/share/javascript/; }
  }
}
`;

/** Gives the folder to `user` (the servers write sessions, caches and their socket there). */
function handOver(dir: string, user: string): void {
  const id = (flag: string) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());
  const [uid, gid] = [id('-u'), id('-g')];
  const walk = (path: string) => {
    chownSync(path, uid, gid);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
}

async function start(): Promise<LoginServer> {
  const procs = new PeerProcesses('lemonldap');
  try {
    const { dir } = procs;
    const port = await freePort();
    const portal = `http://127.0.0.1:${port}/`;
    for (const sub of ['conf', 'sessions/lock', 'psessions/lock', 'cache', 'notifications', 'nginx-temp'])
      mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'conf/lmConf-1.json'), JSON.stringify(portalConfig(dir, portal), null, 1));
    writeFileSync(join(dir, 'lemonldap-ng.ini'), iniFile(dir));
    const runAs = process.getuid?.() === 0 ? RUN_AS : null;
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, runAs));
    chmodSync(dir, 0o755);
    if (runAs) handOver(dir, runAs);

    procs.spawn(
      'llng-fastcgi-server',
      'llng-fastcgi-server',
      [
        '--foreground',
        '--socket',
        join(dir, 'llng-fastcgi.sock'),
        '--pid',
        join(dir, 'llng-fastcgi.pid'),
        ...(runAs ? ['--user', runAs, '--group', runAs] : []),
      ],
      {
        env: {
          ...process.env,
          LLNG_DEFAULTCONFFILE: join(dir, 'lemonldap-ng.ini'),
          // To its log file here rather than to syslog.
          LLNG_DEFAULTLOGGER: 'Lemonldap::NG::Common::Logger::Std',
        },
      },
    );
    procs.spawn('nginx', 'nginx', ['-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log'), '-g', 'daemon off;']);
    const discovery = `${portal}.well-known/openid-configuration`;
    await procs.waitUntil(async () => (await fetch(discovery)).ok, 'LemonLDAP::NG to answer');

    const rp = await peerRelyingParty(portal, CLIENT_ID, CLIENT_SECRET);
    return {
      key: 'lemonldap',
      title: 'LemonLDAP::NG',
      hashing: 'none: the Demo backend takes the user name as the password and stores no password',
      rp,
      scope: 'openid profile email',
      signIn: (ua, page, slot) => {
        const user = DEMO_USERS[slot % DEMO_USERS.length]!;
        // The login form posts to the page's own address (action="#"), with its hidden fields (a CSRF token among them).
        return ua.submit(page, '#', { user, password: user }, REDIRECT_URI);
      },
      measure: (_name, loop) => measuredByCpu(() => procs.cpuMs(), loop),
      close: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

export const lemonldap: Peer = {
  key: 'lemonldap',
  title: 'LemonLDAP::NG',
  packages: ['lemonldap-ng', 'lemonldap-ng-fastcgi-server', 'nginx'],
  start,
};
