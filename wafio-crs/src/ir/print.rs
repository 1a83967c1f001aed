//! The `debug ir` printer.

use std::fmt::Write as _;

use super::{Item, Rule, RuleSet, TargetSelector, Template, TemplatePart};

fn sel(s: &TargetSelector) -> String {
    match s {
        TargetSelector::All => String::new(),
        TargetSelector::Key(k) => format!(":{k}"),
        TargetSelector::Regex(r) => format!(":/{r}/"),
    }
}

/// Renders a template back to SecLang text.
pub(super) fn template(t: &Template) -> String {
    let mut s = String::new();
    for p in &t.parts {
        match p {
            TemplatePart::Literal(l) => s.push_str(l),
            TemplatePart::Macro {
                variable,
                key: Some(k),
            } => {
                let _ = write!(s, "%{{{variable}.{k}}}");
            }
            TemplatePart::Macro {
                variable,
                key: None,
            } => {
                let _ = write!(s, "%{{{variable}}}");
            }
        }
    }
    s
}

fn rule(out: &mut String, r: &Rule, depth: usize) {
    let pad = "  ".repeat(depth + 1);
    let targets: Vec<String> = r
        .targets
        .iter()
        .map(|t| {
            let mut s = format!(
                "{}{}{}",
                if t.count { "&" } else { "" },
                t.collection,
                sel(&t.selector)
            );
            for e in &t.exclusions {
                let _ = write!(s, " !{}", sel(e).trim_start_matches(':'));
            }
            s
        })
        .collect();
    let _ = writeln!(out, "{pad}targets:    {}", targets.join(" | "));
    let _ = writeln!(
        out,
        "{pad}operator:   {}@{} {}",
        if r.operator.negated { "!" } else { "" },
        r.operator.kind.name(),
        r.operator.arg
    );
    let t: Vec<&str> = r.transforms.iter().map(|t| t.name()).collect();
    let _ = writeln!(out, "{pad}transforms: {}", t.join(", "));
    if let Some(d) = &r.disruptive {
        let _ = writeln!(
            out,
            "{pad}disruptive: {d:?}{}",
            r.status
                .map_or_else(String::new, |s| format!(" status {s}"))
        );
    }
    if let Some(s) = r.skip {
        let _ = writeln!(out, "{pad}skip:       {s}");
    }
    if let Some(s) = &r.skip_after {
        let _ = writeln!(out, "{pad}skipAfter:  {s}");
    }
    for s in &r.setvars {
        let op = match &s.op {
            super::SetVarOp::Set(v) => format!("= {}", template(v)),
            super::SetVarOp::Add(v) => format!("+= {}", template(v)),
            super::SetVarOp::Sub(v) => format!("-= {}", template(v)),
            super::SetVarOp::Delete => "delete".to_owned(),
        };
        let _ = writeln!(
            out,
            "{pad}setvar:     {}.{} {op}",
            s.collection,
            template(&s.key)
        );
    }
    for c in &r.ctls {
        let _ = writeln!(out, "{pad}ctl:        {c:?}");
    }
    let m = &r.meta;
    if let Some(msg) = &m.msg {
        let _ = writeln!(out, "{pad}msg:        {}", template(msg));
    }
    if let Some(l) = &m.logdata {
        let _ = writeln!(out, "{pad}logdata:    {}", template(l));
    }
    let _ = writeln!(
        out,
        "{pad}meta:       severity={:?} pl={:?} capture={} multiMatch={} log={:?} auditlog={:?} tags={:?}",
        m.severity, m.paranoia_level, r.capture, r.multi_match, r.log, r.auditlog, m.tags
    );
    for a in &r.other {
        let _ = writeln!(out, "{pad}other:      {a}");
    }
    if let Some(c) = &r.chain {
        let _ = writeln!(out, "{pad}chain:");
        rule(out, c, depth + 1);
    }
}

impl RuleSet {
    /// A human-readable dump (for `wafio debug ir FILE`).
    pub fn debug_ir(&self) -> String {
        let mut out = String::new();
        for (name, args) in &self.settings {
            let _ = writeln!(out, "setting {name} {args:?}");
        }
        for item in &self.items {
            match item {
                Item::Marker { name, .. } => {
                    let _ = writeln!(out, "marker {name}");
                }
                Item::Rule(r) => {
                    let _ = writeln!(
                        out,
                        "rule {} phase {} (line {})",
                        r.id, r.phase, r.span.line
                    );
                    rule(&mut out, r, 0);
                }
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}
