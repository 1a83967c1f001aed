//! The decision engine: findings weighed into a score, a threshold, a mode.

use std::fmt;

use serde::{Deserialize, Serialize};
use wafio_detect::DetectorKind;

/// What the WAF does with a request whose score reaches the threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Block (403) at or above the threshold.
    #[default]
    Block,
    /// Inspect and log, never block.
    Detect,
    /// Do not inspect.
    Off,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Block => "block",
            Mode::Detect => "detect",
            Mode::Off => "off",
        })
    }
}

/// The outcome for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Reject the request.
    Block,
    /// Score reached the threshold but the mode is [`Mode::Detect`]: pass and log.
    Log,
    /// Nothing reached the threshold (or the mode is [`Mode::Off`]).
    Pass,
}

impl Decision {
    /// `block`, `log` or `pass`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Block => "block",
            Decision::Log => "log",
            Decision::Pass => "pass",
        }
    }
}

/// Weights and threshold of the decision engine.
///
/// The score is on a 0–10 scale. Each detector contributes the highest
/// confidence it reported anywhere in the request, times its weight
/// (default 1.0, capped at 1.0); contributions combine as a noisy-OR,
/// `score = 10 × (1 − Π(1 − wᵢ·cᵢ))`, so one finding of confidence 0.5
/// alone scores 5.0, and independent weak signals add up without ever
/// passing 10.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionConfig {
    /// Block at or above this score (default 5.0).
    pub threshold: f32,
    /// Per-detector weights in `0.0..=1.0`, indexed like [`DetectorKind::ALL`].
    pub weights: [f32; 8],
}

impl Default for DecisionConfig {
    fn default() -> Self {
        DecisionConfig {
            threshold: 5.0,
            weights: [1.0; 8],
        }
    }
}

impl DecisionConfig {
    /// The weight of one detector.
    pub fn weight(&self, kind: DetectorKind) -> f32 {
        let idx = DetectorKind::ALL
            .iter()
            .position(|&k| k == kind)
            .unwrap_or(0);
        self.weights[idx].clamp(0.0, 1.0)
    }

    /// Sets the weight of one detector (clamped to `0.0..=1.0`).
    pub fn set_weight(&mut self, kind: DetectorKind, weight: f32) {
        if let Some(idx) = DetectorKind::ALL.iter().position(|&k| k == kind) {
            self.weights[idx] = weight.clamp(0.0, 1.0);
        }
    }

    /// Scores a set of `(detector, confidence)` pairs.
    pub fn score<I>(&self, findings: I) -> f32
    where
        I: IntoIterator<Item = (DetectorKind, f32)>,
    {
        let mut best = [0.0f32; 8];
        for (kind, conf) in findings {
            if let Some(idx) = DetectorKind::ALL.iter().position(|&k| k == kind) {
                best[idx] = best[idx].max(conf.clamp(0.0, 1.0));
            }
        }
        let pass: f32 = DetectorKind::ALL
            .iter()
            .zip(best)
            .map(|(&k, c)| 1.0 - self.weight(k) * c)
            .product();
        // Round to 2 decimals so printed scores are stable.
        ((10.0 * (1.0 - pass)) * 100.0).round() / 100.0
    }

    /// Folds a CRS inbound anomaly score into a detector score.
    ///
    /// The CRS score (the sum of the severity points of the matched attack
    /// rules: critical 5, error 4, warning 3, notice 2) becomes one more
    /// noisy-OR signal of confidence `min(1, anomaly / (2 × crs_threshold))`:
    /// with the CRS default threshold 5, an anomaly score of 5 (one critical
    /// rule, exactly where CRS itself would block) scores 5.0 on its own, 10
    /// or more scores 10.0, and a lone notice (2) scores 2.0.
    pub fn combine_crs(&self, score: f32, anomaly: u32, crs_threshold: u32) -> f32 {
        let denom = 2.0 * crs_threshold.max(1) as f32;
        let crs = (anomaly as f32 / denom).clamp(0.0, 1.0);
        let pass = (1.0 - score.clamp(0.0, 10.0) / 10.0) * (1.0 - crs);
        ((10.0 * (1.0 - pass)) * 100.0).round() / 100.0
    }

    /// Folds one more independent signal of confidence `c` (0–1) into a
    /// score, as a noisy-OR: `combine_signal(0, 0.3)` is 3.0,
    /// `combine_signal(5, 0.3)` is 6.5.
    pub fn combine_signal(&self, score: f32, c: f32) -> f32 {
        if c <= 0.0 {
            return score;
        }
        let pass = (1.0 - score.clamp(0.0, 10.0) / 10.0) * (1.0 - c.clamp(0.0, 1.0));
        ((10.0 * (1.0 - pass)) * 100.0).round() / 100.0
    }

    /// The decision for a score under a mode.
    pub fn decide(&self, score: f32, mode: Mode) -> Decision {
        match mode {
            Mode::Off => Decision::Pass,
            _ if score < self.threshold => Decision::Pass,
            Mode::Block => Decision::Block,
            Mode::Detect => Decision::Log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_finding_scores_ten_times_confidence() {
        let c = DecisionConfig::default();
        assert_eq!(c.score([(DetectorKind::Sqli, 0.5)]), 5.0);
        assert_eq!(
            c.score([(DetectorKind::Sqli, 0.9), (DetectorKind::Sqli, 0.2)]),
            9.0
        );
        assert_eq!(c.score([]), 0.0);
    }

    #[test]
    fn independent_signals_combine_below_ten() {
        let c = DecisionConfig::default();
        let s = c.score([(DetectorKind::Sqli, 0.3), (DetectorKind::Xss, 0.3)]);
        assert!((s - 5.1).abs() < 0.01, "{s}");
        let s = c.score(DetectorKind::ALL.map(|k| (k, 1.0)));
        assert_eq!(s, 10.0);
    }

    #[test]
    fn crs_anomaly_folds_into_the_score() {
        let c = DecisionConfig::default();
        assert_eq!(c.combine_crs(0.0, 5, 5), 5.0);
        assert_eq!(c.combine_crs(0.0, 10, 5), 10.0);
        assert_eq!(c.combine_crs(0.0, 2, 5), 2.0);
        assert_eq!(c.combine_crs(0.0, 0, 5), 0.0);
        assert_eq!(c.combine_crs(5.0, 5, 5), 7.5);
        assert_eq!(c.combine_crs(3.0, 0, 5), 3.0);
    }

    #[test]
    fn signals_fold_into_the_score() {
        let c = DecisionConfig::default();
        assert_eq!(c.combine_signal(0.0, 0.3), 3.0);
        assert_eq!(c.combine_signal(5.0, 0.3), 6.5);
        assert_eq!(c.combine_signal(4.2, 0.0), 4.2);
        assert_eq!(c.combine_signal(0.0, 0.9), 9.0);
    }

    #[test]
    fn weights_and_modes() {
        let mut c = DecisionConfig::default();
        c.set_weight(DetectorKind::Php, 0.5);
        assert_eq!(c.score([(DetectorKind::Php, 1.0)]), 5.0);
        assert_eq!(c.decide(5.0, Mode::Block), Decision::Block);
        assert_eq!(c.decide(5.0, Mode::Detect), Decision::Log);
        assert_eq!(c.decide(9.0, Mode::Off), Decision::Pass);
        assert_eq!(c.decide(4.99, Mode::Block), Decision::Pass);
    }
}
