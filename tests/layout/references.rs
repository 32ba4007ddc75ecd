//! What a source file says about the layout: its module path, the part that is not its test
//! module, whether its top comment gives a reason to be long, and the module paths it
//! names with `crate::` and `super::` (in code and in doc links alike).

use std::path::Path;

/// The module path (`a::b`, empty for the crate root) of a file at `relative`, a path under
/// the crate's `src/`: `lib.rs` and `main.rs` are the root, `a/mod.rs` and `a.rs` are `a`.
pub fn module_of(relative: &Path) -> Vec<String> {
    let mut segments: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    match segments.as_slice() {
        [root] if root == "lib" || root == "main" => Vec::new(),
        [.., last] if last == "mod" => {
            segments.pop();
            segments
        }
        _ => segments,
    }
}

/// The text of a file before its `#[cfg(test)]` module (rustfmt and this workspace put
/// the unit tests last): the code the line limit and the module graph are about.
pub fn non_test_code(text: &str) -> &str {
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let next = lines.peek().map(|next| next.trim_start()).unwrap_or("");
            if next.starts_with("mod ") || next.starts_with("pub mod ") {
                return &text[..offset];
            }
        }
        offset += line.len();
    }
    text
}

/// Whether the file's top comment (its leading `//!` lines) has a line starting
/// `//! Why one file:`.
pub fn gives_reason_to_be_long(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .take_while(|line| line.starts_with("//!") || line.starts_with("#!") || line.is_empty())
        .any(|line| line.starts_with("//! Why one file:"))
}

/// One module path a file names, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The absolute path named (`crate::` resolved, `super::` resolved against the file's
    /// module), item names included: the caller cuts it to a module.
    pub path: Vec<String>,
    /// 1-based line of the `crate` or `super` keyword.
    pub line: usize,
}

/// Every path `text` (the code of module `module`) names with `crate::` or `super::`,
/// use-trees (`crate::a::{b, c::d}`) expanded; `$crate::` (macros) is not a reference.
pub fn references(module: &[String], text: &str) -> Vec<Reference> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut position = 0;
    while position < bytes.len() {
        let rest = &text[position..];
        let keyword = ["crate::", "super::"]
            .into_iter()
            .find(|keyword| rest.starts_with(keyword));
        let at_word_start = position == 0 || !is_word_byte(bytes[position - 1]);
        let (Some(_), true) = (keyword, at_word_start) else {
            position += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let line = text[..position].matches('\n').count() + 1;
        let mut cursor = Cursor { text, position };
        let tree = cursor.path_tree();
        position = cursor.position.max(position + 1);
        for path in tree {
            if let Some(path) = resolve(module, &path) {
                found.push(Reference { path, line });
            }
        }
    }
    found
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$'
}

/// The absolute path of `path` (starting `crate` or `super`) named in `module`; `None` when
/// `super` climbs above the crate root.
fn resolve(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut segments = path.iter().peekable();
    let mut absolute: Vec<String> = match segments.peek().map(|first| first.as_str()) {
        Some("crate") => {
            segments.next();
            Vec::new()
        }
        _ => module.to_vec(),
    };
    for segment in segments {
        match segment.as_str() {
            "super" => {
                absolute.pop()?;
            }
            "self" | "*" => {}
            name => absolute.push(name.to_owned()),
        }
    }
    Some(absolute)
}

/// Reads a path and its use-tree groups from a position in the text.
struct Cursor<'t> {
    text: &'t str,
    position: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        let rest = &self.text[self.position..];
        self.position += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.text[self.position..].starts_with(token) {
            self.position += token.len();
            true
        } else {
            false
        }
    }

    fn identifier(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.text[self.position..];
        if rest.starts_with('*') {
            self.position += 1;
            return Some("*".into());
        }
        let length = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(index, _)| index);
        if length == 0 {
            return None;
        }
        self.position += length;
        Some(rest[..length].to_owned())
    }

    /// The paths of a use-tree: `a::b`, `a::{b, c::{d, e}}`, `a::b as c`.
    fn path_tree(&mut self) -> Vec<Vec<String>> {
        let mut prefix = Vec::new();
        loop {
            if self.eat("{") {
                let mut paths = Vec::new();
                loop {
                    if self.eat("}") {
                        break;
                    }
                    let before = self.position;
                    for path in self.path_tree() {
                        paths.push(prefix.iter().cloned().chain(path).collect());
                    }
                    self.eat(",");
                    if self.position == before {
                        // Not a use-tree after all (a brace of code): stop here.
                        break;
                    }
                }
                return paths;
            }
            let Some(segment) = self.identifier() else {
                break;
            };
            prefix.push(segment);
            let before = self.position;
            if !self.eat("::") {
                self.position = before;
                break;
            }
        }
        if prefix.is_empty() {
            Vec::new()
        } else {
            vec![prefix]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(module: &str, text: &str) -> Vec<String> {
        let module: Vec<String> = module
            .split("::")
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        references(&module, text)
            .into_iter()
            .map(|reference| reference.path.join("::"))
            .collect()
    }

    #[test]
    fn modules_are_named_by_their_files() {
        assert!(module_of(Path::new("lib.rs")).is_empty());
        assert!(module_of(Path::new("main.rs")).is_empty());
        assert_eq!(module_of(Path::new("store/mod.rs")), ["store"]);
        assert_eq!(module_of(Path::new("store/log.rs")), ["store", "log"]);
        assert_eq!(module_of(Path::new("api.rs")), ["api"]);
    }

    #[test]
    fn crate_super_and_use_trees_are_resolved() {
        assert_eq!(
            paths("api::verify", "use crate::state::AppState;"),
            ["state::AppState"]
        );
        assert_eq!(
            paths(
                "api::verify",
                "use super::{error::ApiError, auth::{self, Token}};"
            ),
            ["api::error::ApiError", "api::auth", "api::auth::Token"]
        );
        assert_eq!(paths("a::b", "let x = super::super::c::f();"), ["c::f"]);
        assert_eq!(
            paths("a", "/// See [`crate::store::Store::open`]."),
            ["store::Store::open"]
        );
        assert_eq!(
            paths("a", "use crate::{\n    b::{C, D},\n    e,\n};"),
            ["b::C", "b::D", "e"]
        );
    }

    #[test]
    fn macro_crate_and_longer_words_are_not_references() {
        assert!(paths("a", "$crate::b::c!(); my_crate::b; supercrate::x").is_empty());
        assert!(paths("", "super::x").is_empty(), "above the root");
    }

    #[test]
    fn the_test_module_is_cut_and_reasons_are_found() {
        let text = "//! Top.\n//! Why one file: it is one idea.\nfn a() {}\n#[cfg(test)]\nfn b() {}\n#[cfg(test)]\nmod tests {\n}\n";
        assert_eq!(
            non_test_code(text),
            "//! Top.\n//! Why one file: it is one idea.\nfn a() {}\n#[cfg(test)]\nfn b() {}\n"
        );
        assert!(gives_reason_to_be_long(text));
        assert!(!gives_reason_to_be_long(
            "//! Top.\nfn a() {}\n//! Why one file: too late.\n"
        ));
    }
}
