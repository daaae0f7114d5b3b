/**
 * The person's real-name level (实名等级) as their login shows it, and how to raise it: what the
 * next level asks and where it is done (at their home platform's account page or a service hall).
 */
type Label = { 'zh-CN': string; en: string };

export interface LoaAdvice {
  level: string | null;
  name: Label;
  next: { level: string; name: Label; how: Label } | null;
}

const NAMES: Record<string, Label> = {
  none: { 'zh-CN': '未实名', en: 'Not real-name' },
  loa1: { 'zh-CN': '实名用户（L3）', en: 'Real-name (L3)' },
  loa2: { 'zh-CN': '实人用户（L4）', en: 'Real-person (L4)' },
  loa3: { 'zh-CN': '数字证书或现场核验用户（L5）', en: 'Certificate or in-person proofed (L5)' },
};

const HOW: Record<string, Label> = {
  loa1: {
    'zh-CN': '在注册地平台完成姓名、身份证号与手机号核验。',
    en: 'Verify your name, ID number and phone at the platform where you registered.',
  },
  loa2: {
    'zh-CN': '在注册地平台的账户页面完成实人核验（人脸比对），或到政务服务大厅窗口核验。',
    en: 'Complete real-person verification (a face check) on your account page at the platform where you registered, or at a service hall.',
  },
  loa3: {
    'zh-CN': '使用数字证书登录，或携带身份证到政务服务大厅现场核验。',
    en: 'Sign in with a digital certificate, or bring your ID card to a service hall for in-person proofing.',
  },
};

const ORDER = ['loa1', 'loa2', 'loa3'];

export function loaAdvice(level: string | null): LoaAdvice {
  const next = ORDER[level ? ORDER.indexOf(level) + 1 : 0];
  return {
    level,
    name: NAMES[level ?? 'none']!,
    next: next ? { level: next, name: NAMES[next]!, how: HOW[next]! } : null,
  };
}
