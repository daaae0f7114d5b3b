/**
 * What the applicant is told at each step: a line kept in their space (case_notices) and the same
 * line by SMS through the outbox, both written in the step's transaction (a crash keeps the step
 * and its message, or neither). A message that cannot be queued (no valid phone) is logged: the
 * step stands, and the person still reads it in their space.
 */
import type { CaseEvent } from './case-lifecycle.ts';
import type { Queryable } from '../../infra/database.ts';
import type { CaseDeps } from './case-context.ts';
import type { CaseRow } from './case-store.ts';

export interface PendingNotice {
  phone: string | null;
  text: string;
}

const SUSPENSION_NAMES: Record<string, string> = { hearing: '听证', testing: '检验检测', expert_review: '专家评审' };
const DELIVERY_NAMES: Record<string, string> = { electronic: '电子送达', mail: '邮寄送达', pickup: '窗口领取' };

/** Facts of the step a notice speaks of. */
export interface NoticeFacts {
  missing?: { name: string; reason: string }[];
  reasons?: string;
  kind?: string;
  outcome?: string;
  extensionDays?: number;
  resultName?: string;
  handler?: string;
}

/** The notice of an event, or null for steps inside the departments (a review note, an opinion). */
export function noticeText(
  event: CaseEvent,
  c: Pick<CaseRow, 'number' | 'item_name' | 'due_on' | 'delivery'>,
  f: NoticeFacts,
): string | null {
  const head = `【政务服务】办件 ${c.number}（${c.item_name}）`;
  const due = c.due_on ? `，承诺办结日期 ${c.due_on}` : '';
  switch (event) {
    case 'request_correction':
      return `${head}需要补正：${(f.missing ?? []).map((m) => `${m.name}（${m.reason}）`).join('；')}。请一次补齐后提交，补正期间不计入办理时限。`;
    case 'supply':
      return `${head}的补正材料已收到。`;
    case 'accept':
    case 'deem_accepted':
      return `${head}已受理${due}。`;
    case 'refuse':
      return `${head}不予受理。理由：${f.reasons}`;
    case 'decide_on_the_spot':
    case 'decide':
      return f.outcome === 'approved' ? `${head}已作出准予决定。` : `${head}已作出不予许可（不予办理）决定。理由：${f.reasons}`;
    case 'suspend':
      return `${head}进入${SUSPENSION_NAMES[f.kind ?? ''] ?? f.kind}程序，所需时间不计入办理时限。`;
    case 'resume':
      return `${head}${SUSPENSION_NAMES[f.kind ?? ''] ?? f.kind}已结束，恢复计时${due}。`;
    case 'extend':
      return `${head}办理期限延长 ${f.extensionDays} 个工作日${due}。理由：${f.reasons}`;
    case 'complete_review':
      return `${head}审查已完成，正在作出决定。`;
    case 'make_result':
      return `${head}的办理结果（${f.resultName}）已制作完成。`;
    case 'deliver':
      return `${head}的办理结果已${DELIVERY_NAMES[c.delivery]}。`;
    case 'publish':
      return `${head}的决定已依法公开。`;
    case 'close':
      return `${head}已办结。欢迎对本次服务作出评价。`;
    case 'withdraw':
      return `${head}已按您的申请撤回。`;
    case 'hand_off':
      return `${head}已通过形式审查，转交办理地平台（${f.handler}）受理和决定，可继续凭编号查询进度。`;
    case 'record_review':
    case 'give_opinion':
      return null;
  }
}

/**
 * Queues the messages; `db`: the step's transaction, so that a crash never keeps a step and loses
 * its message (nor sends one for a step rolled back).
 */
export async function sendNotices(
  deps: Pick<CaseDeps, 'notify' | 'log'>,
  pending: readonly PendingNotice[],
  db?: Queryable,
): Promise<void> {
  for (const n of pending) {
    if (!n.phone) continue;
    try {
      await deps.notify(n.phone, n.text, db);
    } catch (err) {
      deps.log.warn('case notice not sent', { reason: (err as Error).message });
    }
  }
}
