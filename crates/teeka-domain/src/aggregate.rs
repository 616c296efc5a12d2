//! Small-cell suppression for released counts (research exports, public statistics): a count
//! below `k` is withheld, and so are enough other counts beside it that it cannot be recovered
//! by subtracting the published ones from a published total.
//!
//! A table is a set of cells, each keyed by one value per dimension (state, age band, gender …).
//! A *line* is the cells that share every key but one; its total is treated as published, since a
//! total by any one dimension is what such tables are for. The rules, applied until none fires:
//! 1. a cell with `0 < count < k` is withheld (primary suppression);
//! 2. in every line, once anything is withheld, more is withheld (smallest first) until at least
//!    two cells are withheld and the withheld cells sum to at least `k`, or the whole line is
//!    withheld (complementary suppression). So a line's total minus its published cells never
//!    gives one cell, nor a sum small enough to say "all of these are tiny".
//!
//! Zero counts are published: "nobody" is not about anybody.
//!
//! Suppression protects one table. Across tables a withheld count could still be had by
//! differencing: yesterday's running total from today's, or a state's total less its districts'.
//! So every published count is also rounded to a multiple of a base ([`Released::rounded`],
//! default 5), the same way every time: any sum or difference of published figures is then a
//! multiple of the base too, and each figure it is made of carries its own unknown error of up
//! to half the base, so a difference gives a range several counts wide, never the exact count
//! (a difference of 0 says "between 0 and 4"; of 5, "between 1 and 9").

use std::collections::BTreeMap;

/// The default threshold: counts below 10 are withheld.
pub const DEFAULT_K: u64 = 10;

/// The default rounding base: published counts are multiples of 5.
pub const DEFAULT_ROUNDING_BASE: u64 = 5;

/// `n` rounded to the nearest multiple of `base`, halves up (`base` 0 or 1: unchanged).
/// Deterministic, so asking again, or through another query, yields nothing new.
pub fn round_to_base(n: u64, base: u64) -> u64 {
    if base <= 1 {
        return n;
    }
    n.saturating_add(base / 2) / base * base
}

/// A cell's key: one value per dimension, in the table's dimension order.
pub type CellKey = Vec<String>;

/// A count as released: the number, or withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Published.
    Count(u64),
    /// Withheld (below the threshold, or withheld to protect one that is).
    Withheld,
}

impl Released {
    /// The number, if published.
    pub fn count(self) -> Option<u64> {
        match self {
            Released::Count(n) => Some(n),
            Released::Withheld => None,
        }
    }

    /// As published: a count rounded to a multiple of `base`; withheld stays withheld.
    pub fn rounded(self, base: u64) -> Released {
        match self {
            Released::Count(n) => Released::Count(round_to_base(n, base)),
            Released::Withheld => Released::Withheld,
        }
    }
}

/// Applies primary and complementary suppression with threshold `k` to `cells`, every key of
/// which has the same number of dimensions. Keys not present are not cells (a missing
/// combination is not a published zero), so they neither protect nor need protecting.
pub fn suppress(cells: &BTreeMap<CellKey, u64>, k: u64) -> BTreeMap<CellKey, Released> {
    let mut withheld: BTreeMap<&CellKey, bool> = cells
        .iter()
        .map(|(key, &n)| (key, n > 0 && n < k))
        .collect();
    let dims = cells.keys().next().map_or(0, Vec::len);
    loop {
        let mut changed = false;
        for dim in 0..dims {
            for line in lines(cells, dim) {
                changed |= protect_line(&line, cells, &mut withheld, k);
            }
        }
        if !changed {
            break;
        }
    }
    cells
        .iter()
        .map(|(key, &n)| {
            let released = if withheld.get(key).copied().unwrap_or(false) {
                Released::Withheld
            } else {
                Released::Count(n)
            };
            (key.clone(), released)
        })
        .collect()
}

/// The lines along `dim`: cells grouped by every key but the one at `dim`.
fn lines(cells: &BTreeMap<CellKey, u64>, dim: usize) -> Vec<Vec<&CellKey>> {
    let mut grouped: BTreeMap<Vec<&str>, Vec<&CellKey>> = BTreeMap::new();
    for key in cells.keys() {
        let rest: Vec<&str> = key
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != dim)
            .map(|(_, v)| v.as_str())
            .collect();
        grouped.entry(rest).or_default().push(key);
    }
    grouped.into_values().collect()
}

/// Rule 2 on one line; whether it withheld anything more.
fn protect_line<'a>(
    line: &[&'a CellKey],
    cells: &BTreeMap<CellKey, u64>,
    withheld: &mut BTreeMap<&'a CellKey, bool>,
    k: u64,
) -> bool {
    let is_withheld = |w: &BTreeMap<&CellKey, bool>, key: &CellKey| w.get(key) == Some(&true);
    let count = |key: &CellKey| cells.get(key).copied().unwrap_or(0);
    if !line.iter().any(|key| is_withheld(withheld, key)) {
        return false;
    }
    let mut changed = false;
    loop {
        let hidden: Vec<&&CellKey> = line
            .iter()
            .filter(|key| is_withheld(withheld, key))
            .collect();
        let hidden_sum: u64 = hidden.iter().map(|key| count(key)).sum();
        if hidden.len() >= 2 && hidden_sum >= k {
            return changed;
        }
        // The smallest published cell goes next: it costs the table least.
        let next = line
            .iter()
            .filter(|key| !is_withheld(withheld, key))
            .min_by_key(|key| (count(key), **key));
        match next {
            Some(key) => {
                withheld.insert(key, true);
                changed = true;
            }
            None => return changed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(&[&str], u64)]) -> BTreeMap<CellKey, u64> {
        rows.iter()
            .map(|(key, n)| (key.iter().map(|s| s.to_string()).collect(), *n))
            .collect()
    }

    fn key(parts: &[&str]) -> CellKey {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rounding_is_to_the_nearest_multiple_halves_up() {
        assert_eq!(round_to_base(52, 5), 50);
        assert_eq!(round_to_base(53, 5), 55);
        assert_eq!(round_to_base(55, 5), 55);
        assert_eq!(round_to_base(0, 5), 0);
        assert_eq!(round_to_base(7, 1), 7);
        assert_eq!(round_to_base(u64::MAX, 5) % 5, 0);
        assert_eq!(Released::Count(12).rounded(5), Released::Count(10));
        assert_eq!(Released::Withheld.rounded(5), Released::Withheld);
    }

    #[test]
    fn no_difference_of_rounded_running_totals_gives_a_small_days_count() {
        // Any day's count below k, hidden between two published running totals: the difference
        // of the published totals is a multiple of 5, so never the count itself (1..=4), and
        // for 5..=9 it is equally consistent with a neighbour of that count.
        for before in 0..200u64 {
            for day in 1..10u64 {
                let diff = round_to_base(before + day, 5) - round_to_base(before, 5);
                assert_eq!(diff % 5, 0);
                if day % 5 != 0 {
                    assert_ne!(diff, day, "{before} then {day} more");
                }
            }
        }
    }

    #[test]
    fn a_small_cell_and_its_smallest_neighbour_are_withheld() {
        let cells = table(&[(&["F"], 120), (&["M"], 130), (&["O"], 3)]);
        let out = suppress(&cells, 10);
        assert_eq!(out[&key(&["O"])], Released::Withheld);
        assert_eq!(out[&key(&["F"])], Released::Withheld, "the complement");
        assert_eq!(out[&key(&["M"])], Released::Count(130));
    }

    #[test]
    fn nothing_small_nothing_withheld_and_zeros_are_published() {
        let cells = table(&[(&["F"], 12), (&["M"], 0), (&["O"], 10)]);
        let out = suppress(&cells, 10);
        assert!(out.values().all(|r| r.count().is_some()), "{out:?}");
    }

    #[test]
    fn two_tiny_cells_take_a_third_so_their_sum_says_nothing() {
        let cells = table(&[(&["a"], 1), (&["b"], 2), (&["c"], 50), (&["d"], 60)]);
        let out = suppress(&cells, 10);
        assert_eq!(out[&key(&["c"])], Released::Withheld);
        assert_eq!(out[&key(&["d"])], Released::Count(60));
    }

    /// The property that matters, over many generated two- and three-way tables: in every line,
    /// withheld cells are never alone and never sum below k, so no published total minus
    /// published cells gives a small count.
    #[test]
    fn no_line_reveals_a_withheld_cell() {
        let mut seed: u64 = 0x7465_656b_6100;
        let mut next = move |bound: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % bound
        };
        for round in 0..400 {
            let dims = 2 + (round % 2);
            let sizes: Vec<u64> = (0..dims).map(|_| 2 + next(4)).collect();
            let mut cells = BTreeMap::new();
            let total: u64 = sizes.iter().product();
            for index in 0..total {
                let mut rest = index;
                let mut cell_key = Vec::new();
                for size in &sizes {
                    cell_key.push((rest % size).to_string());
                    rest /= size;
                }
                // Mostly small counts, so suppression has work to do.
                let n = if next(3) == 0 { next(200) } else { next(12) };
                cells.insert(cell_key, n);
            }
            let k = 5 + next(10);
            let out = suppress(&cells, k);
            for (key, n) in &cells {
                if *n > 0 && *n < k {
                    assert_eq!(out[key], Released::Withheld, "round {round}: {key:?}");
                }
            }
            for dim in 0..dims as usize {
                for line in lines(&cells, dim) {
                    let hidden: Vec<_> = line
                        .iter()
                        .filter(|key| out[**key] == Released::Withheld)
                        .collect();
                    let sum: u64 = hidden.iter().map(|key| cells[**key]).sum();
                    assert!(
                        hidden.is_empty()
                            || hidden.len() == line.len()
                            || (hidden.len() >= 2 && sum >= k),
                        "round {round}, dim {dim}: {} withheld summing to {sum} (k {k})",
                        hidden.len()
                    );
                }
            }
        }
    }
}
