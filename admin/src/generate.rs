//! `contacts-admin generate`: a JSON Lines file of made-up accounts and services, for
//! measuring imports at scale (BENCHMARKS.md). Deterministic for a given seed.

use std::io::{self, Write};

use contacts_domain::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub accounts: u64,
    pub services: u64,
    /// `ge0-ovh` is the admin of this many services (the first ones), `ge1-ovh` of the next
    /// 10 and `ge2-ovh` of the next 100: accounts with listings of different sizes, to compare.
    pub heavy: u64,
    pub seed: u64,
}

/// Accounts `ge{i}-ovh` (one in twenty overdue, languages in turn), then services
/// `s{i}.example.net` whose admin is a random account, and whose tech and billing are each
/// the admin or another random account.
pub fn generate(spec: Spec, out: &mut impl Write) -> io::Result<()> {
    assert!(spec.accounts >= 4 || spec.services == 0, "services need at least 4 accounts");
    let mut random = SplitMix(spec.seed);
    let languages = ["en", "it", "fr"];
    for i in 0..spec.accounts {
        let payment = if random.below(20) == 0 { "overdue" } else { "ok" };
        let line = serde_json::json!({
            "kind": "account", "id": format!("ge{i}-ovh"), "name": format!("Generated Person {i}"),
            "email": format!("ge{i}@example.com"), "language": languages[(i % 3) as usize], "payment_status": payment,
        });
        writeln!(out, "{}", serde_json::from_value::<Record>(line).expect("a valid account").to_line())?;
    }
    // With a heavy account, the random holders are taken among the others.
    let first = if spec.heavy > 0 { 3 } else { 0 };
    let pick = |random: &mut SplitMix| format!("ge{}-ovh", first + random.below(spec.accounts - first));
    for i in 0..spec.services {
        let admin = if i < spec.heavy {
            "ge0-ovh".to_owned()
        } else if spec.heavy > 0 && i < spec.heavy + 10 {
            "ge1-ovh".to_owned()
        } else if spec.heavy > 0 && i < spec.heavy + 110 {
            "ge2-ovh".to_owned()
        } else {
            pick(&mut random)
        };
        let tech = if random.below(2) == 0 { admin.clone() } else { pick(&mut random) };
        let billing = if random.below(2) == 0 { admin.clone() } else { pick(&mut random) };
        let line = serde_json::json!({"kind": "service", "name": format!("s{i}.example.net"), "admin": admin, "tech": tech, "billing": billing});
        writeln!(out, "{}", serde_json::from_value::<Record>(line).expect("a valid service").to_line())?;
    }
    out.flush()
}

/// SplitMix64: small, fast, and good enough to spread made-up holders.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contacts_app::seed::Fixtures;

    #[test]
    fn a_generated_file_is_valid_deterministic_and_has_the_heavy_accounts() {
        let spec = Spec { accounts: 30, services: 200, heavy: 50, seed: 7 };
        let (mut one, mut two) = (Vec::new(), Vec::new());
        generate(spec, &mut one).unwrap();
        generate(spec, &mut two).unwrap();
        assert_eq!(one, two);
        let fixtures = Fixtures::parse_any(std::str::from_utf8(&one).unwrap()).unwrap();
        assert_eq!((fixtures.accounts.len(), fixtures.services.len()), (30, 200));
        let admin_of = |id: &str| fixtures.services.iter().filter(|s| s.contacts.holders().iter().any(|h| h.as_str() == id)).count();
        assert_eq!((admin_of("ge0-ovh"), admin_of("ge1-ovh"), admin_of("ge2-ovh")), (50, 10, 100));
    }
}
