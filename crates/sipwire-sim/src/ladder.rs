//! Renders a trace as a text ladder diagram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::node::NodeId;
use crate::trace::{DropReason, Record, RecordKind};

/// Narrowest and widest distance between two columns.
const MIN_SPACING: usize = 22;
const MAX_SPACING: usize = 44;
/// Event texts are cut to this many characters.
const MAX_EVENT: usize = 72;

/// Formats a duration since the start as `+12.345s`.
pub(crate) fn format_elapsed(d: Duration) -> String {
    format!("+{}.{:03}s", d.as_secs(), d.subsec_millis())
}

/// What became of a datagram, gathered from the whole trace before drawing.
#[derive(Default)]
struct Outcome {
    dropped: Option<DropReason>,
    delivered: u32,
    /// Arrived after a datagram sent later on the same direction.
    reordered: bool,
}

pub(crate) fn render<'a>(
    names: &[&str],
    start: Instant,
    records: impl Iterator<Item = &'a Record>,
) -> String {
    let records: Vec<&Record> = records.collect();
    let outcomes = outcomes(&records);

    let labels: Vec<Option<String>> = records
        .iter()
        .map(|r| match &r.kind {
            RecordKind::Sent(d) => Some(d.summary()),
            _ => None,
        })
        .collect();
    let longest_label = labels.iter().flatten().map(|l| l.chars().count()).max().unwrap_or(0);
    let longest_name = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let spacing = (longest_label + 8).clamp(MIN_SPACING, MAX_SPACING).max(longest_name + 3);
    let times: Vec<String> =
        records.iter().map(|r| format_elapsed(r.at.saturating_duration_since(start))).collect();
    let time_width = times.iter().map(String::len).max().unwrap_or(7) + 2;
    let first_half = names.first().map_or(0, |n| n.chars().count() / 2);
    let centers: Vec<usize> =
        (0..names.len()).map(|i| time_width + first_half + i * spacing).collect();
    let width = centers.last().map_or(time_width, |c| c + 1);

    let mut out = String::new();
    let mut header = Row::new(width);
    for (name, &center) in names.iter().zip(&centers) {
        header.put(center.saturating_sub(name.chars().count() / 2), name);
    }
    header.finish(&mut out, None);
    lifelines(width, &centers).finish(&mut out, None);

    for ((record, label), time) in records.iter().zip(&labels).zip(&times) {
        let mut row = lifelines(width, &centers);
        row.put(0, time);
        let note = match &record.kind {
            RecordKind::Sent(d) => {
                let outcome = outcomes.get(&d.id);
                let dropped = outcome.and_then(|o| o.dropped);
                let from = centers.get(d.from.index()).copied();
                let to = d.to.and_then(|to| centers.get(to.index()).copied());
                let label = label.as_deref().unwrap_or_default();
                match (from, to) {
                    (Some(from), Some(to)) => arrow(&mut row, from, to, label, dropped.is_some()),
                    (Some(from), None) => arrow(&mut row, from, from + spacing, label, true),
                    _ => {}
                }
                let mut notes = Vec::new();
                if d.transport.is_reliable() {
                    notes.push(format!("({})", d.transport));
                }
                match dropped {
                    Some(DropReason::NoRoute) => {
                        notes.push(format!("(no route to {})", d.destination))
                    }
                    Some(reason) => notes.push(format!("({reason})")),
                    None => {}
                }
                if outcome.is_some_and(|o| o.delivered > 1) {
                    notes.push("(duplicated)".to_owned());
                }
                if outcome.is_some_and(|o| o.reordered) {
                    notes.push("(reordered)".to_owned());
                }
                (!notes.is_empty()).then(|| notes.join(" "))
            }
            RecordKind::Event { node, text } => {
                if let Some(&center) = centers.get(node.index()) {
                    row.put(center, &format!("* {}", clip(&one_line(text), MAX_EVENT)));
                }
                None
            }
            _ => continue,
        };
        row.finish(&mut out, note.as_deref());
    }
    out
}

/// Collects the fate of every datagram: drops, deliveries, reordering.
fn outcomes(records: &[&Record]) -> BTreeMap<u64, Outcome> {
    let mut outcomes: BTreeMap<u64, Outcome> = BTreeMap::new();
    // The highest datagram id delivered so far on each direction. Ids grow with send time,
    // so a lower id arriving after it was overtaken.
    let mut highest: BTreeMap<(NodeId, Option<NodeId>), u64> = BTreeMap::new();
    for record in records {
        match &record.kind {
            RecordKind::Dropped(d, reason) if !d.duplicate => {
                outcomes.entry(d.id).or_default().dropped = Some(*reason);
            }
            RecordKind::Delivered(d) => {
                let outcome = outcomes.entry(d.id).or_default();
                outcome.delivered += 1;
                let top = highest.entry((d.from, d.to)).or_insert(d.id);
                if d.id < *top && !d.duplicate {
                    outcome.reordered = true;
                }
                *top = (*top).max(d.id);
            }
            _ => {}
        }
    }
    outcomes
}

/// Draws `label` on an arrow from column `from` to column `to`; a lost datagram's arrow
/// stops short of its target with an `x`.
fn arrow(row: &mut Row, from: usize, to: usize, label: &str, lost: bool) {
    if from == to {
        // A node sending to itself: a stub to the right.
        let text = format!("-> {label}");
        row.put(from + 1, &text);
        return;
    }
    let (left, right) = (from.min(to), from.max(to));
    // The shaft runs strictly between the two lifelines.
    let (mut lo, mut hi) = (left + 1, right - 1);
    let span = right - left - 1;
    let short = if lost { (span / 4).min(span.saturating_sub(4)) } else { 0 };
    if from < to {
        hi -= short;
    } else {
        lo += short;
    }
    if lo > hi {
        return;
    }
    for x in lo..=hi {
        row.set(x, '-');
    }
    let head = if lost {
        'x'
    } else if from < to {
        '>'
    } else {
        '<'
    };
    if from < to {
        row.set(hi, head);
    } else {
        row.set(lo, head);
    }
    let room = (hi - lo + 1).saturating_sub(6);
    let label = clip(label, room);
    let len = label.chars().count();
    if len > 0 {
        let at = lo + (hi - lo + 1 - len) / 2;
        row.put(at, &label);
    }
}

/// Cuts `text` to at most `max` characters, marking the cut with `...`.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max <= 3 {
        return text.chars().take(max).collect();
    }
    let mut clipped: String = text.chars().take(max - 3).collect();
    clipped.push_str("...");
    clipped
}

/// Replaces line breaks and other control characters, which would break the diagram.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn lifelines(width: usize, centers: &[usize]) -> Row {
    let mut row = Row::new(width);
    for &c in centers {
        row.set(c, '|');
    }
    row
}

/// One line of the diagram, as characters so that columns are character positions.
struct Row {
    chars: Vec<char>,
    /// Where annotations start, so that they line up.
    width: usize,
}

impl Row {
    fn new(width: usize) -> Self {
        Self { chars: vec![' '; width], width }
    }

    fn set(&mut self, at: usize, c: char) {
        if at >= self.chars.len() {
            self.chars.resize(at + 1, ' ');
        }
        self.chars[at] = c;
    }

    fn put(&mut self, at: usize, text: &str) {
        for (i, c) in text.chars().enumerate() {
            self.set(at + i, c);
        }
    }

    fn finish(mut self, out: &mut String, note: Option<&str>) {
        if let Some(note) = note {
            let at = self.chars.len().max(self.width) + 2;
            self.put(at, note);
        }
        let line: String = self.chars.into_iter().collect();
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_format() {
        assert_eq!(format_elapsed(Duration::from_millis(12_345)), "+12.345s");
        assert_eq!(format_elapsed(Duration::ZERO), "+0.000s");
        assert_eq!(format_elapsed(Duration::from_micros(1_999)), "+0.001s");
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("INVITE sip:bob@example.com", 10), "INVITE ...");
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 2), "ab");
    }
}
