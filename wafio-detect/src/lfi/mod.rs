//! Lfi detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Lfi detector.
#[derive(Clone, Debug, Default)]
pub struct LfiDetector {}

impl Detector for LfiDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Lfi
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
