/**
 * The languages of every user-facing page: Simplified Chinese by default, English on request.
 * Each application keeps its own message catalog; these are the shared mechanics.
 */
export type Locale = 'zh-CN' | 'en';
export const LOCALES: Locale[] = ['zh-CN', 'en'];

export type Translator<K extends string> = (key: K, vars?: Record<string, string | number>) => string;

/** A catalog's translator for one locale; `{name}` placeholders are filled from `vars`. */
export function catalogTranslator<K extends string>(catalog: Record<Locale, Record<K, string>>, locale: Locale): Translator<K> {
  return (key, vars) => catalog[locale][key].replace(/\{(\w+)\}/g, (_, v: string) => String(vars?.[v] ?? ''));
}

/** The first supported locale among the candidates (e.g. ui_locales, an explicit choice, Accept-Language). */
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
