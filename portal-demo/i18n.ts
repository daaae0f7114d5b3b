/**
 * User-facing text of the relying portals: Simplified Chinese by default, English with `?lang=en`
 * or when the browser prefers it (Accept-Language). The portal keeps its own catalog: it is a
 * separate application that talks to the OPs over HTTP only.
 */
import { catalogTranslator, pickLocale, type Locale, type Translator } from '../infra/i18n.ts';

export { pickLocale, type Locale };

const zh = {
  'page.home': '首页',
  'page.error': '登录未完成',
  'page.not_found': '页面不存在',
  'text.welcome': '欢迎访问{site}。登录后即可在线办理政务服务事项。',
  'text.login_provider': '登录和实名注册由 {op} 统一身份认证提供。',
  'text.hello': '{name}，您好',
  'text.signed_in': '您已登录{site}。',
  'text.language': 'English',
  'text.error_code': '错误代码',
  'text.skip': '跳到主要内容',
  'field.name': '姓名',
  'field.user_type': '用户类型',
  'field.home': '账号注册地',
  'field.recognized': '互认账号',
  'text.recognized': '是：一地注册、各地互认，账号在注册地平台',
  'field.acr': '实名等级',
  'field.org_name': '单位名称',
  'field.agent_role': '办事角色',
  'field.act': '办事人',
  'user_type.natural': '自然人',
  'user_type.legal': '法人',
  'role.representative': '法定代表人',
  'role.admin': '管理员',
  'role.agent': '经办人',
  'loa.1': '实名（L3）',
  'loa.2': '实人（L4）',
  'loa.3': '数字证书或现场核验（L5）',
  'action.login': '登录',
  'action.login_legal': '法人登录',
  'action.logout': '退出',
  'action.home': '返回首页',
  'error.login_expired': '登录请求已失效或不属于本浏览器，请返回首页重新登录。',
  'error.access_denied': '您取消了登录或拒绝了授权。',
  'error.login_failed': '统一身份认证平台的登录结果未通过校验，请返回首页重新登录。',
  'error.op_unavailable': '统一身份认证平台暂时无法访问，请稍后再试。',
  'error.op_refused': '统一身份认证平台拒绝了本门户的登录请求，请稍后再试或联系门户管理员。',
  'error.csrf': '页面已失效，请返回首页后重试。',
  'error.not_found': '您访问的页面不存在。',
  'error.bad_request': '请求无法处理。',
  'error.server': '服务器内部错误，请稍后再试。',
};

const en: typeof zh = {
  'page.home': 'Home',
  'page.error': 'Sign-in not completed',
  'page.not_found': 'Page not found',
  'text.welcome': 'Welcome to {site}. Sign in to use government services online.',
  'text.login_provider': 'Sign-in and real-name registration are provided by {op}.',
  'text.hello': 'Hello, {name}',
  'text.signed_in': 'You are signed in to {site}.',
  'text.language': '中文',
  'text.error_code': 'Error code',
  'text.skip': 'Skip to the main content',
  'field.name': 'Name',
  'field.user_type': 'Account type',
  'field.home': 'Registered at',
  'field.recognized': 'Recognized account',
  'text.recognized': 'Yes: registered once, recognized everywhere; the account lives at its home platform',
  'field.acr': 'Level of assurance',
  'field.org_name': 'Organization',
  'field.agent_role': 'Role',
  'field.act': 'Acting person',
  'user_type.natural': 'Natural person',
  'user_type.legal': 'Legal person',
  'role.representative': 'Legal representative',
  'role.admin': 'Administrator',
  'role.agent': 'Agent',
  'loa.1': 'Real name (L3)',
  'loa.2': 'Real person (L4)',
  'loa.3': 'Certificate or in-person proofing (L5)',
  'action.login': 'Sign in',
  'action.login_legal': 'Sign in for an organization',
  'action.logout': 'Sign out',
  'action.home': 'Back to the home page',
  'error.login_expired': 'This sign-in has expired or was started in another browser. Start again from the home page.',
  'error.access_denied': 'You cancelled the sign-in or declined the authorization.',
  'error.login_failed': 'The answer of the identity platform could not be verified. Start again from the home page.',
  'error.op_unavailable': 'The identity platform cannot be reached right now. Try again later.',
  'error.op_refused':
    'The identity platform refused the sign-in request of this portal. Try again later or contact the portal administrator.',
  'error.csrf': 'This page has expired. Go back to the home page and try again.',
  'error.not_found': 'There is no page at this address.',
  'error.bad_request': 'The request could not be processed.',
  'error.server': 'Internal error. Try again later.',
};

export type MessageKey = keyof typeof zh;
const CATALOG: Record<Locale, typeof zh> = { 'zh-CN': zh, en };

export type Translate = Translator<MessageKey>;

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(zh, key);
}

export function translator(locale: Locale): Translate {
  return catalogTranslator(CATALOG, locale);
}
