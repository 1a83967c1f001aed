//! Xss detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Xss detector.
#[derive(Clone, Debug, Default)]
pub struct XssDetector {}

impl Detector for XssDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Xss
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
