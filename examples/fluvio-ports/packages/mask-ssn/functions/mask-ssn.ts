// Port of packages/mask-ssn/rust/mask-ssn/src/mask_ssn.rs: every `ddd-dd-dddd` becomes `***-**-****`.
// Rust's regex `\d` is any Unicode decimal digit; so is `\p{Nd}` here.
const SSN = /\p{Nd}{3}-\p{Nd}{2}-\p{Nd}{4}/gu;

export function maskSsn(text: string): string {
  return text.replace(SSN, '***-**-****');
}
