//! The byte classes of a view: one pass over its bytes for the prefilters
//! of the detectors that gate their checks on which bytes a value holds.
//!
//! Each detector keeps its own byte-class table (which bytes each of its
//! checks needs). The tables are laid side by side in one `u64` per byte,
//! a lane each (16 bits for XSS, 12 for Java, 8 for Python and SQLi, 4 for
//! the others and for the decoder's escape bytes), so a single table load
//! per byte serves them all, where each used to read the whole value again.

/// The union of the class bits of a view's bytes, one lane per detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByteClasses(u64);

/// The tables in their lanes; a table too wide for its lane fails the
/// build.
static TABLE: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut c = 0;
    while c < 256 {
        let narrow = [
            crate::php::BYTE_CLASS[c],
            crate::cmdi::BYTE_CLASS[c],
            crate::lfi::BYTE_CLASS[c],
            crate::ssrf::BYTE_CLASS[c],
        ];
        let mut k = 0;
        while k < narrow.len() {
            assert!(narrow[k] < 16, "a byte class wider than its 4-bit lane");
            k += 1;
        }
        assert!(
            crate::java::BYTE_CLASS[c] < 1 << 12,
            "java: wider than 12 bits"
        );
        assert!(
            crate::decode::BYTE_CLASS[c] < 16,
            "decode: wider than 4 bits"
        );
        t[c] = crate::xss::BYTE_CLASS[c] as u64
            | (crate::java::BYTE_CLASS[c] as u64) << 16
            | (crate::decode::BYTE_CLASS[c] as u64) << 28
            | (crate::python::BYTE_CLASS[c] as u64) << 32
            | (narrow[0] as u64) << 40
            | (narrow[1] as u64) << 44
            | (narrow[2] as u64) << 48
            | (narrow[3] as u64) << 52
            | (crate::sqli::BYTE_CLASS[c] as u64) << 56;
        c += 1;
    }
    t
};

impl ByteClasses {
    /// The classes of the bytes of `b`.
    pub(crate) fn of(b: &[u8]) -> ByteClasses {
        ByteClasses(b.iter().fold(0, |m, &c| m | TABLE[c as usize]))
    }

    /// The 4-bit lane at bit `at`.
    fn narrow(self, at: u32) -> u8 {
        (self.0 >> at) as u8 & 0xf
    }

    /// The `xss` byte classes.
    pub(crate) fn xss(self) -> u16 {
        self.0 as u16
    }

    /// The `java` byte classes.
    pub(crate) fn java(self) -> u16 {
        (self.0 >> 16) as u16 & 0xfff
    }

    /// The decoder's byte classes.
    pub(crate) fn decode(self) -> u8 {
        self.narrow(28)
    }

    /// The `python` byte classes.
    pub(crate) fn python(self) -> u8 {
        (self.0 >> 32) as u8
    }

    /// The `php` byte classes.
    pub(crate) fn php(self) -> u8 {
        self.narrow(40)
    }

    /// The `cmdi` byte classes.
    pub(crate) fn cmdi(self) -> u8 {
        self.narrow(44)
    }

    /// The `lfi` byte classes.
    pub(crate) fn lfi(self) -> u8 {
        self.narrow(48)
    }

    /// The `ssrf` byte classes.
    pub(crate) fn ssrf(self) -> u8 {
        self.narrow(52)
    }

    /// The `sqli` byte classes.
    pub(crate) fn sqli(self) -> u8 {
        (self.0 >> 56) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lane_is_its_detectors_union() {
        let fold16 = |t: &[u16; 256], b: &[u8]| b.iter().fold(0, |m, &c| m | t[c as usize]);
        let fold8 = |t: &[u8; 256], b: &[u8]| b.iter().fold(0, |m, &c| m | t[c as usize]);
        let all: Vec<u8> = (0..=255).collect();
        let mut values: Vec<Vec<u8>> = vec![Vec::new(), all.clone()];
        values.extend(all.iter().map(|&c| vec![c]));
        values.push(b"1' and sleep(5)#<?php $x{{7*7}}\n!T@".to_vec());
        for v in &values {
            let m = ByteClasses::of(v);
            assert_eq!(m.xss(), fold16(&crate::xss::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.java(), fold16(&crate::java::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.php(), fold8(&crate::php::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.cmdi(), fold8(&crate::cmdi::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.python(), fold8(&crate::python::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.lfi(), fold8(&crate::lfi::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.ssrf(), fold8(&crate::ssrf::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.decode(), fold8(&crate::decode::BYTE_CLASS, v), "{v:?}");
            assert_eq!(m.sqli(), fold8(&crate::sqli::BYTE_CLASS, v), "{v:?}");
        }
    }
}
