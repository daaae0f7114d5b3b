/**
 * The guide (办事指南) of an implementation item: generated from the item's version and its
 * directory item, never edited apart, so a change of either shows in the guide at once. A pure
 * function; portals render the model (labels in Simplified Chinese and English).
 */
import type { DirectoryItem, ImplementationItem } from './catalog-schema.ts';

type Label = { 'zh-CN': string; en: string };
export interface GuideSection {
  key: string;
  label: Label;
  value: unknown;
}

export interface Guide {
  code: string;
  version: number;
  title: string;
  sections: GuideSection[];
}

const label = (zh: string, en: string): Label => ({ 'zh-CN': zh, en });

const CHOICES: Record<string, Record<string, string>> = {
  user_type: { natural: '自然人', legal: '法人' },
  cross_region: { none: '不通办', province: '全省通办', nationwide: '跨省通办' },
  handling_form: { online: '网上办理', window: '窗口办理', mail: '邮寄办理' },
  delivery: { pickup: '窗口领取', mail: '快递送达', electronic: '电子证照' },
  min_loa: { loa1: '实名用户', loa2: '实人用户', loa3: '数字证书或现场核验' },
  material_type: { original: '原件', copy: '复印件', original_and_copy: '原件和复印件', form: '申请表' },
  channel: { applicant: '申请人自备', issuing_authority: '由出具单位提供', e_license: '电子证照共享' },
};

const yesNo = (v: boolean) => (v ? '是' : '否');

export function guideOf(
  item: ImplementationItem,
  version: number,
  directory: DirectoryItem,
  authorityName: (code: string) => string,
): Guide {
  const sections: GuideSection[] = [
    { key: 'name', label: label('事项名称', 'Item'), value: item.name },
    { key: 'item_type', label: label('事项类型', 'Type'), value: directory.item_type },
    { key: 'basic_code', label: label('基本编码', 'Basic code'), value: item.basic_code },
    { key: 'implementing_code', label: label('实施编码', 'Implementing code'), value: item.implementing_code },
    {
      key: 'implementing_authority',
      label: label('实施主体', 'Implementing authority'),
      value: authorityName(item.implementing_authority),
    },
    {
      key: 'assisting_authorities',
      label: label('联办机构', 'Assisting authorities'),
      value: item.assisting_authorities.map(authorityName),
    },
    { key: 'legal_basis', label: label('设定依据', 'Legal basis'), value: directory.legal_basis },
    { key: 'user_type', label: label('服务对象', 'Who applies'), value: CHOICES.user_type![item.user_type] },
    { key: 'min_loa', label: label('实名等级要求', 'Real-name level'), value: CHOICES.min_loa![item.min_loa] },
    {
      key: 'materials',
      label: label('申请材料', 'Materials'),
      value: item.materials.map((m) => ({
        name: m.name,
        type: CHOICES.material_type![m.type],
        source:
          m.source.channel === 'issuing_authority'
            ? `${CHOICES.channel!.issuing_authority}：${m.source.authority}`
            : m.source.channel === 'e_license'
              ? `${CHOICES.channel!.e_license}：${m.source.license_type}`
              : CHOICES.channel!.applicant,
        paper_copies: m.paper_copies,
        electronic_required: yesNo(m.electronic_required),
        acceptance_standard: m.acceptance_standard,
        ...(m.sample ? { sample: m.sample } : {}),
        ...(m.electronic_form ? { electronic_form: m.electronic_form } : {}),
        ...(m.notes ? { notes: m.notes } : {}),
      })),
    },
    {
      key: 'process',
      label: label('办理流程', 'Process'),
      value: item.process.map((p) => ({
        step: p.step,
        description: p.description,
        ...(p.time_limit_days !== undefined ? { time_limit: `${p.time_limit_days}个工作日` } : {}),
      })),
    },
    { key: 'legal_time_limit', label: label('法定办结时限', 'Legal time limit'), value: `${item.legal_time_limit_days}个工作日` },
    {
      key: 'promised_time_limit',
      label: label('承诺办结时限', 'Promised time limit'),
      value: item.promised_time_limit_days === 0 ? '即办' : `${item.promised_time_limit_days}个工作日`,
    },
    {
      key: 'fees',
      label: label('收费标准', 'Fees'),
      value: item.fees.length ? item.fees.map((f) => ({ name: f.name, amount: `${f.amount_yuan}元`, basis: f.basis })) : '不收费',
    },
    { key: 'result', label: label('审批结果', 'Result'), value: item.result },
    { key: 'handling_form', label: label('办理形式', 'How to apply'), value: item.handling_form.map((f) => CHOICES.handling_form![f]) },
    { key: 'review_standard', label: label('审查标准', 'Review standard'), value: item.review_standard },
    { key: 'cross_region', label: label('通办范围', 'Cross-region handling'), value: CHOICES.cross_region![item.cross_region] },
    { key: 'appointment', label: label('支持预约', 'Appointment'), value: yesNo(item.appointment) },
    { key: 'online_payment', label: label('网上支付', 'Online payment'), value: yesNo(item.online_payment) },
    { key: 'delivery', label: label('送达方式', 'Delivery'), value: item.delivery.map((d) => CHOICES.delivery![d]) },
    { key: 'place', label: label('办理地点', 'Place'), value: item.place },
    { key: 'hours', label: label('办理时间', 'Hours'), value: item.hours },
    { key: 'enquiry_phone', label: label('咨询电话', 'Enquiries'), value: item.enquiry_phone },
    { key: 'supervision_phone', label: label('监督投诉电话', 'Complaints'), value: item.supervision_phone },
  ];
  return { code: item.implementing_code, version, title: `${item.name}办事指南`, sections };
}
