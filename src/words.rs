//! English for counts, written once: "1 peer", "2 peers", "1 entry", "3 entries".

/// `n` and the noun, plural unless `n` is 1 (the noun's plural adds `s`).
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `one` when `n` is 1, else `many` (for irregular plurals).
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(1, "peer"), "1 peer");
        assert_eq!(count(0, "peer"), "0 peers");
        assert_eq!(plural(2, "entry", "entries"), "entries");
        assert_eq!(plural(1, "entry", "entries"), "entry");
    }
}
