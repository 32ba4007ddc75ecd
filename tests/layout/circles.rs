//! The module graph of one crate and its circles: an edge from a module to each module its
//! code names (cut to the longest module path that exists), none between a module and its
//! ancestors or descendants (a parent declares and re-exports its children; a child uses
//! what its parent shares), and every strongly connected component of more than one
//! module reported.

use std::collections::{BTreeMap, BTreeSet};

use crate::references::{Reference, references};

/// One source file of a crate, as the graph sees it.
#[derive(Debug)]
pub struct ModuleSource<'t> {
    /// Its module path (empty for the root).
    pub module: Vec<String>,
    /// Where it is, for messages.
    pub file: String,
    /// Its code, the test module cut off.
    pub code: &'t str,
}

/// One reference that takes part in a circle: `from` names `to` at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// The module whose file names the other.
    pub from: String,
    /// The module named.
    pub to: String,
    /// `file:line` of the first such name.
    pub at: String,
}

/// A circle: modules that each reach the others, with the links between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circle {
    /// The modules, sorted.
    pub modules: Vec<String>,
    /// Every link between two of them.
    pub links: Vec<Link>,
}

/// The circles among `sources`, the files of one crate.
pub fn circles(sources: &[ModuleSource<'_>]) -> Vec<Circle> {
    let modules: BTreeSet<Vec<String>> =
        sources.iter().map(|source| source.module.clone()).collect();
    // (from, to) → first place it is named.
    let mut edges: BTreeMap<(Vec<String>, Vec<String>), String> = BTreeMap::new();
    for source in sources {
        for Reference { path, line } in references(&source.module, source.code) {
            let target = longest_module(&modules, &path);
            if target.starts_with(&source.module) || source.module.starts_with(&target) {
                continue;
            }
            edges
                .entry((source.module.clone(), target))
                .or_insert_with(|| format!("{}:{line}", source.file));
        }
    }
    let names: Vec<Vec<String>> = modules.into_iter().collect();
    let number = |module: &Vec<String>| names.binary_search(module).unwrap_or_default();
    let mut successors = vec![Vec::new(); names.len()];
    for (from, to) in edges.keys() {
        successors[number(from)].push(number(to));
    }
    strongly_connected(&successors)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|component| {
            let members: BTreeSet<usize> = component.iter().copied().collect();
            let display = |module: &Vec<String>| {
                if module.is_empty() {
                    "crate".to_owned()
                } else {
                    module.join("::")
                }
            };
            let links = edges
                .iter()
                .filter(|((from, to), _)| {
                    members.contains(&number(from)) && members.contains(&number(to))
                })
                .map(|((from, to), at)| Link {
                    from: display(from),
                    to: display(to),
                    at: at.clone(),
                })
                .collect();
            Circle {
                modules: members
                    .iter()
                    .map(|member| display(&names[*member]))
                    .collect(),
                links,
            }
        })
        .collect()
}

/// The longest prefix of `path` that is a module (the root, at least).
fn longest_module(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|length| path[..length].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

/// Tarjan's strongly connected components of the graph `successors` (node → its
/// successors).
fn strongly_connected(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct Search<'g> {
        successors: &'g [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        components: Vec<Vec<usize>>,
    }
    impl Search<'_> {
        fn visit(&mut self, node: usize) {
            self.index[node] = Some(self.next);
            self.low[node] = self.next;
            self.next += 1;
            self.stack.push(node);
            self.on_stack[node] = true;
            for &successor in &self.successors[node] {
                match self.index[successor] {
                    None => {
                        self.visit(successor);
                        self.low[node] = self.low[node].min(self.low[successor]);
                    }
                    Some(index) if self.on_stack[successor] => {
                        self.low[node] = self.low[node].min(index);
                    }
                    Some(_) => {}
                }
            }
            if Some(self.low[node]) == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut search = Search {
        successors,
        index: vec![None; successors.len()],
        low: vec![0; successors.len()],
        on_stack: vec![false; successors.len()],
        stack: Vec::new(),
        next: 0,
        components: Vec::new(),
    };
    for node in 0..successors.len() {
        if search.index[node].is_none() {
            search.visit(node);
        }
    }
    search.components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source<'t>(module: &str, code: &'t str) -> ModuleSource<'t> {
        ModuleSource {
            module: module
                .split("::")
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect(),
            file: format!("{module}.rs"),
            code,
        }
    }

    #[test]
    fn a_made_up_circle_is_found_with_its_links() {
        let files = [
            source("", "pub mod state; pub mod api; pub mod recognition;"),
            source("state", "use crate::api::verify::Memo;"),
            source("api", "pub mod verify;"),
            source("api::verify", "use crate::recognition::Answer;"),
            source(
                "recognition",
                "/// Reads [`crate::state::AppState`].\nfn f() {}",
            ),
        ];
        let found = circles(&files);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].modules, ["api::verify", "recognition", "state"]);
        assert_eq!(
            found[0].links,
            [
                Link {
                    from: "api::verify".into(),
                    to: "recognition".into(),
                    at: "api::verify.rs:1".into()
                },
                Link {
                    from: "recognition".into(),
                    to: "state".into(),
                    at: "recognition.rs:1".into()
                },
                Link {
                    from: "state".into(),
                    to: "api::verify".into(),
                    at: "state.rs:1".into()
                },
            ]
        );
    }

    #[test]
    fn two_modules_naming_each_other_through_super_are_a_circle() {
        let files = [
            source("store", "mod log; mod slots;"),
            source("store::log", "use super::slots::SlotHolder;"),
            source("store::slots", "fn f() { super::log::put(); }"),
        ];
        let found = circles(&files);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].modules, ["store::log", "store::slots"]);
    }

    #[test]
    fn parents_children_and_one_way_links_are_no_circle() {
        let files = [
            source(
                "",
                "pub mod store; pub use store::Store; use crate::store::log::X;",
            ),
            source("store", "pub mod log; use self::log::X; use crate::Thing;"),
            source(
                "store::log",
                "use super::Store; use crate::Thing; use crate::util::f;",
            ),
            source("util", "use crate::store::Store;"),
        ];
        assert_eq!(circles(&files), Vec::<Circle>::new());
    }

    #[test]
    fn names_in_the_test_module_are_not_links() {
        let a = "pub struct A;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n";
        let b = "pub struct B;\nuse crate::a::A;\n";
        let whole = [source("", ""), source("a", a), source("b", b)];
        assert_eq!(
            circles(&whole).len(),
            1,
            "the test module's name makes a circle"
        );
        let code = crate::references::non_test_code(a);
        let cut = [source("", ""), source("a", code), source("b", b)];
        assert_eq!(circles(&cut), Vec::<Circle>::new());
    }
}
