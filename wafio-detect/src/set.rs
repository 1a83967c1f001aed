//! The detector trait and the set of enabled detectors.

use std::fmt;

use crate::decode::{Input, Limits, View};
use crate::finding::{evidence_string, DetectorKind, Finding, Hit};

/// A semantic attack detector.
///
/// A detector is given one view of a decoded value at a time and pushes its
/// hits into `out`; spans are relative to `view.bytes()`. Implementations do
/// no I/O, never panic on any bytes, run in time linear (or bounded) in the
/// value length, and allocate nothing when the value is clean.
pub trait Detector: Send + Sync + fmt::Debug {
    /// Which of the eight detectors this is.
    fn kind(&self) -> DetectorKind;

    /// Inspects one view of a value.
    fn detect(&self, view: &View<'_>, out: &mut Vec<Hit>);

    /// Bytes of which a view must hold at least one for
    /// [`Detector::detect`] to report anything on it; `None` when no such
    /// set is known. A caller that scans values one view at a time (a rule
    /// engine whose rules decode values themselves) may skip the values
    /// without any of these bytes.
    fn needs_one_of(&self) -> Option<&'static [bool; 256]> {
        None
    }
}

/// Confidence at which a finding blocks on its own under the default
/// decision engine; a detector stops looking at further views once it
/// reports this much.
pub const BLOCKING: f32 = 0.5;

fn push_findings(
    kind: DetectorKind,
    view: &View<'_>,
    hits: impl Iterator<Item = Hit>,
    out: &mut Vec<Finding>,
) {
    let bytes = view.bytes();
    for hit in hits {
        let start = hit.span.start.min(bytes.len());
        let span = start..hit.span.end.min(bytes.len()).max(start);
        out.push(Finding {
            detector: kind,
            class: hit.class,
            confidence: hit.confidence.clamp(0.0, 1.0),
            span: view.original_span(span.clone()),
            evidence: evidence_string(&bytes[span]),
            view: view.kind(),
            reason: hit.reason,
        });
    }
}

/// The enabled detectors, run together over each value.
///
/// ```
/// use wafio_detect::{DetectorKind, DetectorSet};
///
/// let set = DetectorSet::default();
/// assert!(set.scan(b"hello world").is_empty());
///
/// let only_sqli = DetectorSet::builder().only(&[DetectorKind::Sqli]).build();
/// assert_eq!(only_sqli.enabled().collect::<Vec<_>>(), vec![DetectorKind::Sqli]);
/// ```
#[derive(Debug)]
pub struct DetectorSet {
    detectors: Vec<Box<dyn Detector>>,
    limits: Limits,
}

impl Default for DetectorSet {
    /// All eight detectors, default limits.
    fn default() -> Self {
        DetectorSet::builder().build()
    }
}

impl DetectorSet {
    /// A builder starting from all eight detectors enabled.
    pub fn builder() -> DetectorSetBuilder {
        DetectorSetBuilder {
            enabled: DetectorKind::ALL.to_vec(),
            limits: Limits::default(),
        }
    }

    /// The enabled detectors, in run order.
    pub fn enabled(&self) -> impl Iterator<Item = DetectorKind> + '_ {
        self.detectors.iter().map(|d| d.kind())
    }

    /// The limits applied to each value.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// [`Detector::needs_one_of`] for the whole set: the bytes of which a
    /// view must hold one for any enabled detector to report anything on
    /// it (`None` when some detector has no such set).
    pub fn needs_one_of(&self) -> Option<[bool; 256]> {
        let mut all = [false; 256];
        for det in &self.detectors {
            for (a, &b) in all.iter_mut().zip(det.needs_one_of()?) {
                *a |= b;
            }
        }
        Some(all)
    }

    /// Decodes and scans one value.
    pub fn scan(&self, value: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.scan_into(value, &mut findings);
        findings
    }

    /// Decodes and scans one value, appending findings to `out`. Allocates
    /// nothing when the value needs no decoding and nothing is found.
    pub fn scan_into(&self, value: &[u8], out: &mut Vec<Finding>) {
        let input = Input::with_limits(value, &self.limits);
        self.scan_input(&input, out);
    }

    /// Scans an already decoded [`Input`], appending findings to `out`.
    ///
    /// Each detector sees the views in order (raw, decoded, base64) and stops
    /// at the first view where it reports a blocking finding
    /// (confidence >= [`BLOCKING`]); when it never does, the view with its
    /// strongest weak finding is reported. One detector reports one view.
    pub fn scan_input(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let mut hits = Vec::new();
        for det in &self.detectors {
            // The strongest weak (< BLOCKING) report so far: (view index, hits).
            let mut weak: Option<(usize, Vec<Hit>)> = None;
            let mut strong = false;
            for (vi, view) in input.views().iter().enumerate() {
                det.detect(view, &mut hits);
                if hits.is_empty() {
                    continue;
                }
                if hits.iter().any(|h| h.confidence >= BLOCKING) {
                    push_findings(det.kind(), view, hits.drain(..), out);
                    strong = true;
                    break;
                }
                let best = |h: &[Hit]| h.iter().map(|h| h.confidence).fold(0.0f32, f32::max);
                if weak.as_ref().is_none_or(|(_, w)| best(&hits) > best(w)) {
                    weak = Some((vi, std::mem::take(&mut hits)));
                } else {
                    hits.clear();
                }
            }
            if let (false, Some((vi, w))) = (strong, weak) {
                push_findings(det.kind(), &input.views()[vi], w.into_iter(), out);
            }
        }
    }
}

/// Builds a [`DetectorSet`].
#[derive(Clone, Debug)]
pub struct DetectorSetBuilder {
    enabled: Vec<DetectorKind>,
    limits: Limits,
}

impl DetectorSetBuilder {
    /// Enables or disables one detector.
    pub fn enable(mut self, kind: DetectorKind, on: bool) -> Self {
        self.enabled.retain(|&k| k != kind);
        if on {
            self.enabled.push(kind);
        }
        self
    }

    /// Enables exactly the given detectors.
    pub fn only(mut self, kinds: &[DetectorKind]) -> Self {
        self.enabled = kinds.to_vec();
        self
    }

    /// Sets the per-value limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Builds the set; detectors run in [`DetectorKind::ALL`] order.
    pub fn build(self) -> DetectorSet {
        let detectors = DetectorKind::ALL
            .into_iter()
            .filter(|k| self.enabled.contains(k))
            .map(crate::detector_for)
            .collect();
        DetectorSet {
            detectors,
            limits: self.limits,
        }
    }
}
