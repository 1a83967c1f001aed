//! SecLang rendering of AST nodes and the `debug ast` printer.

use std::fmt::{self, Write as _};

use super::{Action, Config, DirectiveKind, Operator, RuleSelector, Selector, Variable};

/// Renders as SecLang: `!ARGS:foo`, `&TX:x`, `REQUEST_HEADERS:/^x-/`.
impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        if self.count {
            f.write_str("&")?;
        }
        f.write_str(self.name)?;
        match &self.selector {
            None => Ok(()),
            Some(Selector::Key(k)) => write!(f, ":{k}"),
            Some(Selector::Regex(r)) => write!(f, ":/{r}/"),
        }
    }
}

/// Renders as SecLang, always with an explicit `@name`.
impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        write!(f, "@{}", self.name)?;
        if !self.argument.is_empty() {
            write!(f, " {}", self.argument)?;
        }
        Ok(())
    }
}

/// Renders as SecLang; quoted values keep their quotes (re-escaped).
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(v) = &self.value {
            if v.quoted {
                let escaped = v.text.replace('\\', "\\\\").replace('\'', "\\'");
                write!(f, ":'{escaped}'")?;
            } else {
                write!(f, ":{}", v.text)?;
            }
        }
        Ok(())
    }
}

fn join<T: fmt::Display>(items: &[T], sep: &str) -> String {
    let mut s = String::new();
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        let _ = write!(s, "{it}");
    }
    s
}

impl Config {
    /// A human-readable dump of every directive with its location, one
    /// block per directive (for `wafio debug ast FILE`).
    pub fn debug_ast(&self) -> String {
        let mut out = String::new();
        for d in &self.directives {
            let path = self
                .file(d.span.file)
                .map_or_else(String::new, |f| f.path.display().to_string());
            let _ = writeln!(out, "{path}:{}:{}: {}", d.span.line, d.span.column, d.name);
            let _ = match &d.kind {
                DirectiveKind::SecRule(r) => {
                    let _ = writeln!(out, "  variables: {}", join(&r.variables, " | "));
                    let _ = writeln!(
                        out,
                        "  operator:  {}{}",
                        r.operator,
                        if r.operator.implicit {
                            "  (implicit @rx)"
                        } else {
                            ""
                        }
                    );
                    if r.actions.is_empty() {
                        writeln!(out, "  actions:   (none)")
                    } else {
                        writeln!(out, "  actions:   {}", join(&r.actions, ", "))
                    }
                }
                DirectiveKind::SecAction(a) | DirectiveKind::SecDefaultAction(a) => {
                    writeln!(out, "  actions:   {}", join(a, ", "))
                }
                DirectiveKind::SecMarker(a)
                | DirectiveKind::RuleRemoveByTag(a)
                | DirectiveKind::RuleRemoveByMsg(a) => writeln!(out, "  {:?}", a.value),
                DirectiveKind::Include { pattern, files } => {
                    writeln!(out, "  {:?} -> {} file(s)", pattern.value, files.len())
                }
                DirectiveKind::RuleRemoveById(ids) => writeln!(out, "  ids: {ids:?}"),
                DirectiveKind::RuleUpdateTarget {
                    by,
                    targets,
                    replaced,
                } => {
                    let by = match by {
                        RuleSelector::Ids(ids) => format!("ids {ids:?}"),
                        RuleSelector::Tag(t) => format!("tag {:?}", t.value),
                        RuleSelector::Msg(m) => format!("msg {:?}", m.value),
                    };
                    let _ = writeln!(out, "  {by}: {}", join(targets, " | "));
                    match replaced {
                        Some(r) => writeln!(out, "  replacing: {}", join(r, " | ")),
                        None => Ok(()),
                    }
                }
                DirectiveKind::RuleUpdateActionById {
                    id,
                    chain_offset,
                    actions,
                } => writeln!(
                    out,
                    "  id {id}{}: {}",
                    chain_offset.map_or_else(String::new, |o| format!(":{o}")),
                    join(actions, ", ")
                ),
                DirectiveKind::Setting(args) => {
                    let vals: Vec<&str> = args.iter().map(|a| a.value.as_str()).collect();
                    writeln!(out, "  {vals:?}")
                }
            };
        }
        out
    }
}
