//! Which TOML field a parse error points at: the dotted path (with array
//! indices, `cells[0].vpci.irq_base`) of the key whose line holds the
//! error's byte offset, found by reading the table headers and key lines
//! before it. Good enough for the one-key-per-line files cellboot uses.

use std::collections::HashMap;

/// The field at byte `offset` of `text`, `None` when no key is found.
pub fn field_at(text: &str, offset: usize) -> Option<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut table = String::new();
    let mut key: Option<String> = None;
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        if at > offset {
            break;
        }
        at = at.saturating_add(line.len());
        let t = line.trim_start();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = clean(name);
            counts.retain(|k, _| !k.starts_with(&format!("{name}.")));
            let n = counts.entry(name.clone()).or_insert(0);
            *n = n.saturating_add(1);
            table = path_of(&name, &counts);
            key = None;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = path_of(&clean(name), &counts);
            key = None;
        } else if let Some((k, _)) = t.split_once('=') {
            let k = k.trim();
            // A key line (not a continuation such as `{ first = 1 }` of a
            // multi-line array, which belongs to the key before it).
            if !k.is_empty() && !k.starts_with(['{', '#', '[']) && !k.contains([' ', ',']) {
                key = Some(clean(k));
            }
        }
    }
    let key = key?;
    Some(if table.is_empty() {
        key
    } else {
        format!("{table}.{key}")
    })
}

fn clean(s: &str) -> String {
    s.trim()
        .split('.')
        .map(|p| p.trim().trim_matches('"'))
        .collect::<Vec<_>>()
        .join(".")
}

/// `a.b.c` with each array-of-tables prefix given its current index.
fn path_of(name: &str, counts: &HashMap<String, usize>) -> String {
    let mut prefix = String::new();
    let mut out = String::new();
    for part in name.split('.') {
        if !prefix.is_empty() {
            prefix.push('.');
            out.push('.');
        }
        prefix.push_str(part);
        out.push_str(part);
        if let Some(n) = counts.get(&prefix) {
            out.push_str(&format!("[{}]", n.saturating_sub(1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field_at;

    const DOC: &str = "name = \"x\"\n[[cells]]\nname = \"a\"\n[[cells.memory]]\nphys = 1\n[[cells.memory]]\nphys = 2\n[cells.vpci]\nirq_base = \"q\"\nirqs = [\n  { first = 1 },\n]\n[[cells]]\n[[cells.memory]]\nsize = 3\n[[links]]\ndevice = -1\n";

    fn at(needle: &str) -> Option<String> {
        field_at(DOC, DOC.find(needle).unwrap())
    }

    #[test]
    fn paths_with_indices() {
        assert_eq!(at("\"x\"").as_deref(), Some("name"));
        assert_eq!(at("phys = 2").as_deref(), Some("cells[0].memory[1].phys"));
        assert_eq!(at("\"q\"").as_deref(), Some("cells[0].vpci.irq_base"));
        assert_eq!(at("{ first").as_deref(), Some("cells[0].vpci.irqs"));
        assert_eq!(at("size = 3").as_deref(), Some("cells[1].memory[0].size"));
        assert_eq!(at("-1").as_deref(), Some("links[0].device"));
        assert_eq!(field_at(DOC, 0).as_deref(), Some("name"));
    }
}
