//! "Did you mean …?" for names the server does not have.

/// The candidate closest to `wanted`, when it is close enough to be the one meant: an edit
/// distance of at most a third of the longer name (and at least 1), or the same name in
/// another case.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(&wanted_lower, &c.to_lowercase());
        let limit = (wanted.chars().count().max(c.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean `x`? `, or nothing.
pub(crate) fn hint<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, candidates)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default()
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let tools = ["add", "divide", "text_stats", "convert_temperature"];
        assert_eq!(closest("ad", tools), Some("add"));
        assert_eq!(closest("devide", tools), Some("divide"));
        assert_eq!(closest("text-stats", tools), Some("text_stats"));
        assert_eq!(
            closest("Convert_Temprature", tools),
            Some("convert_temperature")
        );
        assert_eq!(closest("weather", tools), None);
        assert_eq!(hint("xyz", tools), "");
        assert_eq!(hint("divid", tools), "did you mean `divide`? ");
    }
}
