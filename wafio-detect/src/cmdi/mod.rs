//! Cmdi detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Cmdi detector.
#[derive(Clone, Debug, Default)]
pub struct CmdiDetector {}

impl Detector for CmdiDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Cmdi
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
