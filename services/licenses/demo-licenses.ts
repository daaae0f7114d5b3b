/**
 * Demo licences for a synthetic person of the population registry: a resident ID card, a
 * household register extract and a driving licence, their claims derived from the ID number (the
 * division code gives the places, digits 7–14 the birth date, the 17th the sex); and for an
 * organization of the legal-person registry its business licence; so that the running demo has
 * licences to show, share and verify.
 */
import type { IssuedLicense, LicenseRegistry } from './license-registry.ts';

/** The demo population's county-level divisions (services/population/synthetic-persons.ts). */
const PLACES: Record<string, { city: string; district: string; street: string }> = {
  '440106': { city: '广州市', district: '天河区', street: '天河路' },
  '440104': { city: '广州市', district: '越秀区', street: '中山五路' },
  '440304': { city: '深圳市', district: '福田区', street: '深南大道' },
  '440305': { city: '深圳市', district: '南山区', street: '科技园路' },
  '320102': { city: '南京市', district: '玄武区', street: '中山路' },
  '320104': { city: '南京市', district: '秦淮区', street: '建康路' },
  '320211': { city: '无锡市', district: '滨湖区', street: '太湖大道' },
  '330106': { city: '杭州市', district: '西湖区', street: '文三路' },
  '330102': { city: '杭州市', district: '上城区', street: '解放路' },
  '110101': { city: '北京市', district: '东城区', street: '东长安街' },
  '110105': { city: '北京市', district: '朝阳区', street: '建国路' },
};
const ELSEWHERE = { city: '北京市', district: '西城区', street: '西长安街' };

const placeOf = (division: string) => PLACES[division] ?? ELSEWHERE;

export async function issueDemoLicenses(registry: LicenseRegistry, person: { name: string; idNumber: string }): Promise<IssuedLicense[]> {
  const place = placeOf(person.idNumber.slice(0, 6));
  const digits = person.idNumber;
  const birthDate = `${digits.slice(6, 10)}-${digits.slice(10, 12)}-${digits.slice(12, 14)}`;
  const house = 1 + (Number(digits.slice(14, 17)) % 200);
  const address = `${place.city}${place.district}${place.street}${house}号`;
  const police = `${place.city}公安局${place.district}分局`;
  const holder = { kind: 'natural' as const, idNumber: person.idNumber, name: person.name };
  const issued = [
    await registry.issue('resident_id_card', holder, {
      sex: Number(digits[16]) % 2 === 1 ? '男' : '女',
      ethnicity: '汉',
      birth_date: birthDate,
      address,
      issuing_authority: police,
    }),
    await registry.issue('household_register_extract', holder, {
      household_address: address,
      household_head: person.name,
      relationship: '户主',
      registration_authority: `${place.city}公安局${place.district}分局${place.street}派出所`,
    }),
  ];
  const birthYear = Number(digits.slice(6, 10));
  const thisYear = new Date().getFullYear();
  if (birthYear <= thisYear - 18) {
    issued.push(
      await registry.issue('driving_licence', holder, {
        vehicle_class: 'C1',
        first_issued: `${Math.min(birthYear + 20, thisYear)}-${digits.slice(10, 12)}-01`,
        issuing_authority: `${place.city}公安局交通警察支队`,
      }),
    );
  }
  return issued;
}

/** The business licence of an organization (its USCC's characters 3–8 are its division). */
export async function issueDemoBusinessLicense(
  registry: LicenseRegistry,
  org: { uscc: string; name: string; type: string; representativeName: string },
): Promise<IssuedLicense> {
  const place = placeOf(org.uscc.slice(2, 8));
  return registry.issue(
    'business_license',
    { kind: 'legal', uscc: org.uscc, name: org.name },
    {
      org_type: org.type,
      legal_representative: org.representativeName,
      established: '2018-06-01',
      address: `${place.city}${place.district}${place.street}${1 + (org.uscc.charCodeAt(9) % 200)}号`,
      registration_authority: `${place.city}${place.district}市场监督管理局`,
    },
  );
}
