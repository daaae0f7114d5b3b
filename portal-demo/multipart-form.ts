/**
 * The one form of the portal that carries files (an application and its corrections):
 * `multipart/form-data` (RFC 7578), read whole within a limit and taken apart here. Text fields are
 * strings, checked like every other form field; a field given twice, a structured or prototype
 * name, or a part without a name is refused; an empty file input (no file chosen) is no file.
 */
import type Koa from 'koa';
import { BadRequest, HttpError } from '../infra/errors.ts';
import { readRaw } from '../infra/request-body.ts';
import { refuseUnfitInput } from '../infra/request-guard.ts';

export interface UploadedFile {
  filename: string;
  type: string;
  content: Buffer;
}

export interface MultipartForm {
  fields: Record<string, string>;
  files: Record<string, UploadedFile>;
}

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

function refused(message: string): never {
  throw new BadRequest('invalid_request', message);
}

/** `name="value"` parameters of a part's Content-Disposition. */
function dispositionParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/;\s*([a-z*]+)="((?:[^"\\]|\\.)*)"/gi)) out[m[1]!.toLowerCase()] = m[2]!.replace(/\\(.)/g, '$1');
  return out;
}

export async function readMultipartForm(ctx: Koa.Context, limit: number): Promise<MultipartForm> {
  const type = ctx.get('content-type');
  const boundary = /^multipart\/form-data;.*boundary="?([^";]{1,70})"?/i.exec(type)?.[1];
  if (!boundary) throw new HttpError(415, 'invalid_request', 'the form must be sent as multipart/form-data');
  const raw = await readRaw(ctx, limit);
  const delimiter = Buffer.from(`--${boundary}`);
  const form: MultipartForm = { fields: {}, files: {} };
  let at = raw.indexOf(delimiter);
  if (at < 0) refused('the form has no parts');
  for (;;) {
    const start = at + delimiter.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const next = raw.indexOf(delimiter, start);
    if (next < 0) refused('the form ends before its closing boundary');
    // A part: CRLF, headers, CRLF CRLF, body, CRLF before the next delimiter.
    const part = raw.subarray(start + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) refused('a part of the form has no headers');
    const headers = part.subarray(0, split).toString('latin1').split('\r\n');
    const body = part.subarray(split + 4);
    const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? refused('a part of the form has no name');
    const params = dispositionParams(disposition);
    const name = params.name ?? refused('a part of the form has no name');
    if (PROTOTYPE_KEYS.has(name) || /[[\]]/.test(name)) refused(`form field ${name.slice(0, 64)}: not accepted`);
    if (name in form.fields || name in form.files) refused(`form field ${name.slice(0, 64)}: given twice`);
    if (params.filename !== undefined) {
      if (params.filename === '' && body.length === 0) {
        at = next;
        continue;
      }
      const partType = headers.find((h) => /^content-type:/i.test(h))?.replace(/^content-type:\s*/i, '') ?? 'application/octet-stream';
      form.files[name] = { filename: Buffer.from(params.filename, 'latin1').toString('utf8'), type: partType, content: Buffer.from(body) };
    } else {
      try {
        form.fields[name] = utf8.decode(body);
      } catch {
        refused(`form field ${name.slice(0, 64)}: not valid UTF-8`);
      }
    }
    at = next;
  }
  refuseUnfitInput(form.fields);
  return form;
}
