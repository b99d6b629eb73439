//! Features at any finite f32 scale: squared distances of values near 1e20 overflow f32 and
//! those of values near 1e-25 underflow to zero, on the GPU and the CPU alike. k-means and UMAP
//! depend only on how distances compare, so they run on the features times a power of two
//! that brings the largest magnitude near 1. Multiplying by a power of two is exact (short of
//! underflow), so the labels, the neighbours and the embedding are those of the features as
//! given, and centroids and inertia scale back exactly.

use std::borrow::Cow;

/// Features whose largest magnitude lies in [2^-20, 2^20] are used as they are.
const SAFE_EXPONENT: i32 = 20;

/// The power of two the features are divided by: `2^exponent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureScale {
    exponent: i32,
}

impl FeatureScale {
    /// The scale for these (finite) features.
    pub fn of(features: &[f32]) -> Self {
        let largest = features.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if largest == 0.0 {
            return FeatureScale { exponent: 0 };
        }
        let exponent = f64::from(largest).log2().floor() as i32 + 1;
        if (-SAFE_EXPONENT..=SAFE_EXPONENT).contains(&exponent) {
            FeatureScale { exponent: 0 }
        } else {
            FeatureScale { exponent }
        }
    }

    /// The power of two, as a file keeps it.
    pub fn exponent(self) -> i32 {
        self.exponent
    }

    /// The scale of a power of two kept in a file (the same scale for any later features,
    /// whatever their largest value).
    pub fn from_exponent(exponent: i32) -> Self {
        FeatureScale { exponent }
    }

    /// 2^exponent: a feature is its scaled value times this.
    pub fn factor(self) -> f64 {
        2f64.powi(self.exponent)
    }

    /// The features divided by the factor (borrowed when the factor is 1).
    pub fn apply(self, features: &[f32]) -> Cow<'_, [f32]> {
        if self.exponent == 0 {
            return Cow::Borrowed(features);
        }
        let inverse = 1.0 / self.factor();
        Cow::Owned(
            features
                .iter()
                .map(|&v| (f64::from(v) * inverse) as f32)
                .collect(),
        )
    }

    /// Scaled values back to the features' scale.
    pub fn restore(self, values: &mut [f32]) {
        if self.exponent != 0 {
            let factor = self.factor();
            for v in values {
                *v = (f64::from(*v) * factor) as f32;
            }
        }
    }
}
