//! Python detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Python detector.
#[derive(Clone, Debug, Default)]
pub struct PythonDetector {}

impl Detector for PythonDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Python
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
