//! Php detector. IN PROGRESS: not yet implemented; reports nothing.

use crate::{Detector, DetectorKind, Hit, View};

/// The Php detector.
#[derive(Clone, Debug, Default)]
pub struct PhpDetector {}

impl Detector for PhpDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Php
    }

    fn detect(&self, _view: &View<'_>, _out: &mut Vec<Hit>) {}
}
