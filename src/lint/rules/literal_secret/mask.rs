//! Findings never print a secret: messages show a masked preview, and the source excerpt the
//! human report prints comes from a copy of the file with every detected secret blotted out.

use crate::diagnostic::Location;
use crate::yaml::SourceFile;
use std::collections::HashMap;
use std::sync::Arc;

/// Shortest secret whose preview shows its first and last two characters; shorter ones show
/// as `****` (four stars whatever the length, so the preview does not give the length away).
pub const PREVIEW_MIN: usize = 16;

/// A masked preview of a secret for a message: `gh…3f` (first two and last two characters, for
/// secrets of [`PREVIEW_MIN`] characters or more), else `****`.
pub fn preview(secret: &str) -> String {
    let n = secret.chars().count();
    if n < PREVIEW_MIN {
        return "****".to_owned();
    }
    let head: String = secret.chars().take(2).collect();
    let tail: String = secret.chars().skip(n - 2).collect();
    format!("{head}…{tail}")
}

/// `text` with the byte range `range` blotted out in place: every byte becomes `*` except line
/// breaks (so line numbers and byte offsets of the file stay as they were) and, for a long
/// secret, its first and last two characters (which the message's preview shows too).
fn blot(text: &mut [u8], range: std::ops::Range<usize>, keep_ends: bool) {
    let Some(region) = text.get_mut(range) else {
        return;
    };
    let (head, tail) = if keep_ends && region.is_ascii() && region.len() >= PREVIEW_MIN {
        (2, 2)
    } else {
        (0, 0)
    };
    let len = region.len();
    for (i, b) in region.iter_mut().enumerate() {
        if i < head || i + tail >= len || matches!(*b, b'\n' | b'\r') {
            continue;
        }
        *b = b'*';
    }
}

/// Secrets to blot out of the files findings point into, collected while the rule runs.
#[derive(Default)]
pub struct Masks {
    /// File (by address) -> the file and the masks in it.
    files: HashMap<usize, (Arc<SourceFile>, Vec<Mask>)>,
}

struct Mask {
    /// The node holding the secret (a scalar value in the file).
    node: std::ops::Range<usize>,
    /// The secret as the manifest holds it, to find inside the node; `None` blots the node.
    secret: Option<String>,
}

fn key(file: &Arc<SourceFile>) -> usize {
    Arc::as_ptr(file) as usize
}

impl Masks {
    /// Blot `secret` out of the node at `node` (the whole node if it is not written there
    /// literally, e.g. escaped or folded).
    pub fn add(&mut self, node: &Location, secret: Option<&str>) {
        let entry = self
            .files
            .entry(key(&node.file))
            .or_insert_with(|| (Arc::clone(&node.file), Vec::new()));
        entry.1.push(Mask {
            node: node.span.start..node.span.end,
            secret: secret.filter(|s| !s.is_empty()).map(str::to_owned),
        });
    }

    /// The masked copy of every file that holds a secret, by the original's address.
    pub fn build(self) -> HashMap<usize, Arc<SourceFile>> {
        let mut out = HashMap::new();
        for (k, (file, masks)) in self.files {
            let original: &str = &file.text;
            let mut bytes = original.as_bytes().to_vec();
            for m in &masks {
                let Some(node_text) = original.get(m.node.clone()) else {
                    // Not a character boundary (should not happen): blot the line's node anyway.
                    blot(&mut bytes, m.node.clone(), false);
                    continue;
                };
                match &m.secret {
                    Some(secret) if node_text.contains(secret.as_str()) => {
                        let mut from = 0;
                        while let Some(found) =
                            node_text.get(from..).and_then(|r| r.find(secret.as_str()))
                        {
                            let start = m.node.start + from + found;
                            blot(&mut bytes, start..start + secret.len(), true);
                            from += found + secret.len().max(1);
                        }
                    }
                    _ => blot(&mut bytes, m.node.clone(), false),
                }
            }
            // Only ASCII `*` replaced whole bytes of the regions, and a region's ends are
            // character boundaries (checked by `get` above, or the whole region is `*`), except
            // the unchecked fallback: repair it lossily rather than fail.
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            out.insert(k, SourceFile::new(file.name.clone(), text));
        }
        out
    }
}

/// `location` moved onto the masked copy of its file, if there is one.
pub fn rebase(location: Location, masked: &HashMap<usize, Arc<SourceFile>>) -> Location {
    match masked.get(&key(&location.file)) {
        Some(file) => Location::new(file, location.span),
        None => location,
    }
}

#[cfg(test)]
mod tests {
    use super::{preview, Masks};
    use crate::diagnostic::Location;
    use crate::yaml::SourceFile;

    #[test]
    fn previews() {
        assert_eq!(preview("hunter2"), "****");
        assert_eq!(preview("ghp_EXAMPLE0123456789abcdefghijklmnopq3f"), "gh…3f");
        assert_eq!(preview(""), "****");
        assert_eq!(preview("ééééééééééééééééé"), "éé…éé");
    }

    #[test]
    fn masks_keep_offsets_and_lines() {
        let file = SourceFile::new(
            "a.yaml",
            "a: x\nb: hunter2\nc: |\n  line1\n  line2\nd: ok\n",
        );
        let text = file.text.to_string();
        let span_of = |needle: &str| {
            let start = text.find(needle).unwrap();
            file.span_of(start, needle.len())
        };
        let mut masks = Masks::default();
        masks.add(&Location::new(&file, span_of("hunter2")), Some("hunter2"));
        masks.add(
            &Location::new(&file, span_of("|\n  line1\n  line2")),
            Some("line1\nline2"),
        );
        let built = masks.build();
        let masked = built.values().next().unwrap();
        assert_eq!(
            &*masked.text,
            "a: x\nb: *******\nc: *\n*******\n*******\nd: ok\n"
        );
    }

    #[test]
    fn long_secrets_keep_their_ends() {
        let secret = "AKIAIOSFODNN7EXAMPLE";
        let file = SourceFile::new("a.yaml", format!("k: \"{secret}\"\n"));
        let mut masks = Masks::default();
        masks.add(&Location::new(&file, file.span_of(3, 22)), Some(secret));
        let built = masks.build();
        assert_eq!(
            &*built.values().next().unwrap().text,
            "k: \"AK****************LE\"\n"
        );
    }
}
