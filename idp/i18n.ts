/**
 * User-facing text of the OP, Simplified Chinese by default and English on request
 * (`ui_locales`, the `lang` switch, or Accept-Language).
 */
export type Locale = 'zh-CN' | 'en';
export const LOCALES: Locale[] = ['zh-CN', 'en'];

const zh = {
  'page.login': '登录',
  'page.password': '输入密码',
  'page.otp': '短信验证码登录',
  'page.register': '实名注册',
  'page.consent': '授权确认',
  'page.error': '出错了',
  'page.logout': '退出登录',
  'page.logged_out': '已退出登录',
  'field.identifier': '身份证号或手机号',
  'field.password': '密码',
  'field.name': '姓名',
  'field.id_number': '居民身份证号码',
  'field.phone': '手机号码',
  'field.otp': '短信验证码',
  'hint.password': '8 至 64 位，须同时包含字母和数字，不能包含身份证号或手机号。',
  'hint.identifier': '请输入 18 位居民身份证号码或 11 位手机号码。',
  'action.next': '下一步',
  'action.login': '登录',
  'action.send_otp': '获取验证码',
  'action.use_otp': '改用短信验证码登录',
  'action.use_password': '改用密码登录',
  'action.register': '注册',
  'action.go_register': '没有账号？立即实名注册',
  'action.go_login': '已有账号？返回登录',
  'action.allow': '同意授权',
  'action.deny': '拒绝',
  'action.logout': '确认退出',
  'action.stay': '取消',
  'text.login_at': '登录 {site}',
  'text.client_wants': '“{client}”请求获取您的以下信息：',
  'text.otp_sent': '如该账号存在，验证码已发送至其绑定的手机，5 分钟内有效。',
  'text.register_otp_sent': '验证码已发送至 {phone}，5 分钟内有效。',
  'text.logout_confirm': '确定要退出 {site} 吗？',
  'text.logged_out': '您已安全退出。',
  'text.language': 'English',
  'scope.openid': '账号标识（不含身份证号）',
  'scope.profile': '姓名',
  'scope.phone': '手机号码',
  'scope.id_number': '居民身份证号码',
  'scope.offline_access': '在您离线时保持访问',
  'scope.legal_person': '法人身份',
  'error.csrf': '页面已失效，请刷新后重试。',
  'error.session_expired': '登录会话已过期，请从原网站重新发起登录。',
  'error.credentials': '账号或密码错误。',
  'error.otp_invalid': '验证码错误。',
  'error.otp_expired': '验证码已失效，请重新获取。',
  'error.otp_too_many': '验证码错误次数过多，请重新获取。',
  'error.otp_rate': '获取验证码过于频繁，请 {seconds} 秒后再试。',
  'error.locked': '尝试次数过多，账号已临时锁定，请 {minutes} 分钟后再试。',
  'error.ip_limited': '来自您网络的尝试次数过多，请稍后再试。',
  'error.id_number_format': '身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X。',
  'error.id_number_region': '身份证号码的行政区划代码无效。',
  'error.id_number_birth_date': '身份证号码中的出生日期无效。',
  'error.id_number_check_digit': '身份证号码校验位错误，请核对。',
  'error.phone_format': '请输入有效的 11 位中国大陆手机号码。',
  'error.identifier_format': '请输入有效的身份证号码或手机号码。',
  'error.name_format': '请输入与身份证一致的姓名。',
  'error.password_length': '密码长度应为 8 至 64 位。',
  'error.password_classes': '密码须同时包含字母和数字。',
  'error.password_personal': '密码不能包含身份证号或手机号。',
  'error.id_number_registered': '该身份证号已注册，请直接登录。',
  'error.phone_registered': '该手机号已被其他账号绑定。',
  'error.person_mismatch': '实名核验未通过：姓名与身份证号码不匹配，请核对。',
  'error.registry_unavailable': '实名核验服务暂时不可用，请稍后再试。',
  'error.sms_unavailable': '短信服务暂时不可用，请稍后再试。',
  'error.rate_limited': '操作过于频繁，请稍后再试。',
  'error.generic': '请求无法完成。',
  'error.server': '服务器内部错误，请稍后再试。',
};

const en: typeof zh = {
  'page.login': 'Sign in',
  'page.password': 'Enter your password',
  'page.otp': 'Sign in with an SMS code',
  'page.register': 'Real-name registration',
  'page.consent': 'Authorize',
  'page.error': 'Something went wrong',
  'page.logout': 'Sign out',
  'page.logged_out': 'Signed out',
  'field.identifier': 'ID number or mobile number',
  'field.password': 'Password',
  'field.name': 'Full name',
  'field.id_number': 'Resident ID number',
  'field.phone': 'Mobile number',
  'field.otp': 'SMS code',
  'hint.password': '8 to 64 characters with both letters and digits, not containing your ID or mobile number.',
  'hint.identifier': 'Your 18-digit resident ID number or 11-digit mobile number.',
  'action.next': 'Next',
  'action.login': 'Sign in',
  'action.send_otp': 'Send code',
  'action.use_otp': 'Use an SMS code instead',
  'action.use_password': 'Use your password instead',
  'action.register': 'Register',
  'action.go_register': 'No account? Register with your real name',
  'action.go_login': 'Have an account? Sign in',
  'action.allow': 'Allow',
  'action.deny': 'Deny',
  'action.logout': 'Sign out',
  'action.stay': 'Cancel',
  'text.login_at': 'Sign in to {site}',
  'text.client_wants': '"{client}" asks for the following information:',
  'text.otp_sent': 'If the account exists, a code was sent to its mobile number. It is valid for 5 minutes.',
  'text.register_otp_sent': 'A code was sent to {phone}. It is valid for 5 minutes.',
  'text.logout_confirm': 'Do you want to sign out of {site}?',
  'text.logged_out': 'You have been signed out.',
  'text.language': '中文',
  'scope.openid': 'Your account identifier (not your ID number)',
  'scope.profile': 'Your name',
  'scope.phone': 'Your mobile number',
  'scope.id_number': 'Your resident ID number',
  'scope.offline_access': 'Access while you are offline',
  'scope.legal_person': 'Your organization',
  'error.csrf': 'This page has expired. Reload it and try again.',
  'error.session_expired': 'Your sign-in session has expired. Start again from the website you came from.',
  'error.credentials': 'Wrong account or password.',
  'error.otp_invalid': 'Wrong code.',
  'error.otp_expired': 'The code has expired. Request a new one.',
  'error.otp_too_many': 'Too many wrong codes. Request a new one.',
  'error.otp_rate': 'Codes were requested too often. Try again in {seconds} seconds.',
  'error.locked': 'Too many attempts: the account is locked for {minutes} minutes.',
  'error.ip_limited': 'Too many attempts from your network. Try again later.',
  'error.id_number_format': 'An ID number has 18 characters: 17 digits and a final digit or X.',
  'error.id_number_region': 'The ID number has an invalid region code.',
  'error.id_number_birth_date': 'The ID number has an invalid date of birth.',
  'error.id_number_check_digit': 'The ID number check digit is wrong. Please check it.',
  'error.phone_format': 'Enter a valid 11-digit mainland China mobile number.',
  'error.identifier_format': 'Enter a valid ID number or mobile number.',
  'error.name_format': 'Enter your name as on your ID card.',
  'error.password_length': 'The password must have 8 to 64 characters.',
  'error.password_classes': 'The password must contain both letters and digits.',
  'error.password_personal': 'The password must not contain your ID or mobile number.',
  'error.id_number_registered': 'This ID number is already registered. Sign in instead.',
  'error.phone_registered': 'This mobile number belongs to another account.',
  'error.person_mismatch': 'Real-name check failed: the name and ID number do not match the population registry.',
  'error.registry_unavailable': 'Identity verification is temporarily unavailable. Try again later.',
  'error.sms_unavailable': 'The SMS service is temporarily unavailable. Try again later.',
  'error.rate_limited': 'Too many requests. Try again later.',
  'error.generic': 'The request could not be completed.',
  'error.server': 'Internal error. Try again later.',
};

export type MessageKey = keyof typeof zh;
const CATALOG: Record<Locale, typeof zh> = { 'zh-CN': zh, en };

export function isMessageKey(key: string): key is MessageKey {
  return key in zh;
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(locale: Locale): Translate {
  return (key, vars) => CATALOG[locale][key].replace(/\{(\w+)\}/g, (_, v: string) => String(vars?.[v] ?? ''));
}

/** First supported locale among the candidates (ui_locales, explicit choice, Accept-Language). */
export function pickLocale(...candidates: (string | undefined)[]): Locale {
  for (const c of candidates) {
    for (const tag of (c ?? '').split(/[\s,]+/)) {
      const t = tag.split(';')[0]!.trim().toLowerCase();
      if (t.startsWith('zh')) return 'zh-CN';
      if (t.startsWith('en')) return 'en';
    }
  }
  return 'zh-CN';
}
