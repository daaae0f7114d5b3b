/**
 * The portal's e-license pages over HTTP (the Nanjing portal, its platform's services entity
 * nj-services, the js OP): the public verify page (pasted, uploaded, from the QR code's link) for
 * licences the national node issued — a revoked one fails at its issuer at once and at Nanjing
 * within the status list's lifetime — and 我的证照 for a person signed in through the portal: the
 * list, one licence with its QR code, the download, and sharing chosen claims as a presentation
 * that then verifies.
 */
import test from 'ava';
import { callAdmin } from '../../infra/admin-client.ts';
import { startTestFederation, type TestFederation } from '../helpers/test-federation.ts';
import { UserAgent, findForm, type Page } from '../helpers/user-agent.ts';
import { newPerson, registerOnPage, type Person } from '../helpers/flows.ts';
import { issueLicense, withDisclosure, disclosureOf, untilTrustMarked, verifyAt, type Issued } from '../helpers/licenses.ts';
import { until } from '../helpers/until.ts';

let fed: TestFederation;
let portal: string;
let person: Person;
let licence: Issued;
test.before(async () => {
  fed = await startTestFederation(['js', 'nj', 'nj-services', 'registries']);
  portal = fed.url('nj');
  person = await newPerson(fed);
  licence = await issueLicense(fed, 'registries', person);
  await untilTrustMarked(fed, 'js');
});
test.after.always(async () => {
  await fed?.close();
});

const text = (page: Page) => page.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

async function verifyPasted(ua: UserAgent, license: string, extra: Record<string, string> = {}): Promise<Page> {
  const form = await ua.navigate(`${portal}/licenses/verify`);
  return ua.submit(form, '/licenses/verify', { license, audience: '', nonce: '', ...extra });
}

test('the verify page takes a pasted licence and says it is valid, with what it shows', async (t) => {
  const ua = new UserAgent();
  const form = await ua.navigate(`${portal}/licenses/verify`);
  t.is(form.status, 200);
  t.regex(form.html, /<label for="license">/);
  t.regex(form.html, /enctype="multipart\/form-data"/);
  t.notRegex(form.html, /<script|style=/);
  const result = await verifyPasted(ua, licence.credential);
  t.is(result.status, 200);
  t.regex(result.html, /<h1>核验通过<\/h1>/);
  const english = await ua.navigate(`${portal}/licenses/verify?lang=en`);
  t.regex(english.html, /<html lang="en">/);
  t.regex(english.html, /<h1>Verify an e-license<\/h1>/);
  const inEnglish = await ua.submit(english, '/licenses/verify', { license: licence.credential, audience: '', nonce: '' });
  t.regex(inEnglish.html, /<h1>Verified<\/h1>/);
  t.true(text(result).includes(person.name));
  t.true(text(result).includes('基础库与共享交换平台（演示）'), 'the issuer by its platform name');
});

test('the verify page says which check failed: an altered licence, a missing one, a form without its CSRF token', async (t) => {
  const ua = new UserAgent();
  const { value } = disclosureOf(licence.credential, 'address');
  const tampered = withDisclosure(licence.credential, 'address', [value[0], 'address', '别处']);
  const result = await verifyPasted(ua, tampered);
  t.regex(result.html, /<h1>核验未通过<\/h1>/);
  t.true(text(result).includes('选择性披露'), 'the failed check named');
  t.true(result.html.includes('<code>disclosure_invalid</code>'));
  const empty = await verifyPasted(ua, '');
  t.regex(empty.html, /请粘贴证照内容或上传证照文件/);
  const forged = await ua.navigate(`${portal}/licenses/verify`, { form: { license: licence.credential } });
  t.is(forged.status, 403);
});

test('an uploaded licence file is verified (multipart form)', async (t) => {
  const ua = new UserAgent();
  const page = await ua.navigate(`${portal}/licenses/verify`);
  const { hidden } = findForm(page.html, '/licenses/verify');
  const boundary = '----gov-id-test-boundary';
  const part = (name: string, value: string, filename?: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ''}\r\n${filename ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n${value}\r\n`;
  const body = `${part('csrf', hidden.csrf!)}${part('license', '')}${part('license_file', licence.credential, 'licence.sd-jwt')}${part('audience', '')}${part('nonce', '')}--${boundary}--\r\n`;
  const result = await ua.navigate(`${portal}/licenses/verify`, {
    body,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, origin: 'null', 'sec-fetch-site': 'same-origin' },
  });
  t.is(result.status, 200);
  t.regex(result.html, /<h1>核验通过<\/h1>/);
  const broken = await ua.navigate(`${portal}/licenses/verify`, {
    body: `--${boundary}\r\nno headers`,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  t.is(broken.status, 400);
});

test('the QR code’s link (the compact JWS, no claim) verifies; once revoked it fails at the issuer at once and at Nanjing within the status list’s lifetime', async (t) => {
  const ua = new UserAgent();
  const other = await issueLicense(fed, 'registries', person);
  const jws = other.credential.split('~')[0]!;
  const ok = await ua.navigate(`${portal}/licenses/verify?license=${jws}`);
  t.regex(ok.html, /<h1>核验通过<\/h1>/);
  t.false(text(ok).includes(person.name), 'the JWS alone shows no claim');
  await callAdmin(fed.topology.get('registries'), fed.config.dataDir, 'POST', `/admin/licenses/${other.id}/revoke`, { reason: '注销' });
  t.is((await verifyAt(fed.url('registries'), { license: jws })).json.error, 'license_revoked', 'the issuer sees it at once');
  // Nanjing's node holds the list it verified with until the list's ttl (30 s) runs out.
  const revokedAt = Date.now();
  await until(
    async () => (await ua.navigate(`${portal}/licenses/verify?license=${jws}`)).html.includes('<code>license_revoked</code>'),
    'Nanjing sees the revocation',
    60_000,
  );
  t.true(Date.now() - revokedAt < 45_000, 'within the ttl and a fetch');
  const revoked = await ua.navigate(`${portal}/licenses/verify?license=${jws}`);
  t.regex(revoked.html, /<h1>核验未通过<\/h1>/);
  t.true(text(revoked).includes('该证照已被签发机关注销'));
});

test('我的证照: a signed-in person gets demo licences, opens one with its QR code, downloads it and shares chosen claims', async (t) => {
  const ua = new UserAgent();
  const signedOut = await ua.navigate(`${portal}/licenses`);
  t.regex(signedOut.html, /请先登录/);

  const holder = await newPerson(fed);
  const home = await registerOnPage(fed, ua, await ua.submit(await ua.navigate(`${portal}/`), '/login', {}), holder, 'Passw0rd-lic');
  t.regex(home.html, /href="\/licenses"/);
  const empty = await ua.navigate(`${portal}/licenses`);
  t.regex(empty.html, /您在本平台还没有电子证照/);
  const list = await ua.submit(empty, '/licenses/demo', {});
  t.is(list.status, 200);
  t.regex(list.html, /居民身份证/);
  t.regex(list.html, /户籍证明/);
  // A licence the national node issued to the same person: the national directory says where it is.
  await issueLicense(fed, 'registries', holder, {
    type: 'marriage_certificate',
    claims: { spouse_name: '李娜', registration_date: '2024-05-20', registration_authority: '南京市玄武区民政局' },
  });
  await until(
    async () => text(await ua.navigate(`${portal}/licenses`)).includes('结婚证 · 基础库与共享交换平台（演示）'),
    'the licence held elsewhere is listed',
    20_000,
  );
  const id = /href="\/licenses\/([0-9a-f-]{36})">户籍证明/.exec(list.html)?.[1];
  t.truthy(id, list.html);

  const page = await ua.navigate(`${portal}/licenses/${id}`);
  t.is(page.status, 200);
  t.true(text(page).includes(holder.id_number), "the holder's own view shows the ID number");
  t.regex(page.html, /<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="核验本证照的二维码"/);
  const verifyLink = /href="(\/licenses\/verify\?license=[^"]+)"/.exec(page.html)![1]!;
  t.false(verifyLink.includes(holder.id_number));
  t.regex((await ua.navigate(portal + verifyLink.replace(/&amp;/g, '&'))).html, /<h1>核验通过<\/h1>/);

  const download = await ua.request(`${portal}/licenses/${id}/download`);
  t.is(download.status, 200);
  t.regex(download.headers.get('content-disposition') ?? '', /attachment; filename="license-.*\.sd-jwt"/);
  const file = await download.text();
  t.regex((await verifyPasted(new UserAgent(), file)).html, /<h1>核验通过<\/h1>/);

  const share = await ua.navigate(`${portal}/licenses/${id}/share`);
  const { hidden } = findForm(share.html, `/licenses/${id}/share`);
  const body = new URLSearchParams({ ...hidden, audience: '南京市某银行', nonce: 'bank-2024' });
  body.append('disclose', 'name');
  body.append('disclose', 'household_address');
  const shared = await ua.navigate(`${portal}/licenses/${id}/share`, {
    body: body.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin' },
  });
  t.is(shared.status, 200);
  const presentation = /<textarea id="presentation"[^>]*>([^<]+)<\/textarea>/.exec(shared.html)![1]!.trim();
  const checked = await verifyPasted(new UserAgent(), presentation, { audience: '南京市某银行', nonce: 'bank-2024' });
  t.regex(checked.html, /<h1>核验通过<\/h1>/);
  t.true(text(checked).includes(holder.name));
  t.false(text(checked).includes(holder.id_number), 'the ID number was not chosen');
  const wrongNonce = await verifyPasted(new UserAgent(), presentation, { audience: '南京市某银行', nonce: 'other' });
  t.regex(wrongNonce.html, /随机码不符/);

  const noAudience = await ua.submit(share, `/licenses/${id}/share`, { audience: '' });
  t.regex(noAudience.html, /请填写验证方/);
  t.is((await ua.navigate(`${portal}/licenses/00000000-0000-4000-8000-000000000000`)).status, 404);
});
