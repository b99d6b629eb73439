//! Twin of shaders/adam.wgsl.

use crate::optim::AdamConfig;
use crate::simd::fast_fn;

fast_fn! {
    /// One Adam step (Keras formula) with the bias-corrected rate `lr_t`. Returns false when
    /// a parameter or moment became NaN or infinite.
    #[must_use]
    pub fn adam(
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        config: &AdamConfig,
        lr_t: f32,
    ) -> bool {
        let moments = m.iter_mut().zip(v.iter_mut());
        let mut finite = true;
        for ((p, &g), (m, v)) in params.iter_mut().zip(grads).zip(moments) {
            *m += (g - *m) * (1.0 - config.beta1);
            *v += (g * g - *v) * (1.0 - config.beta2);
            *p -= lr_t * *m / (v.sqrt() + config.epsilon);
            finite &= p.is_finite() && m.is_finite() && v.is_finite();
        }
        finite
    }
}
