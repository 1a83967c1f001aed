//! Java detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Java detector.
#[derive(Clone, Debug, Default)]
pub struct JavaDetector {}

impl Detector for JavaDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Java
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
