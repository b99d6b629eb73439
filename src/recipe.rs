//! Named training recipes: the model and the training settings that go with it. Every value
//! can be overridden by a flag.

use crate::model::Loss;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    /// The post's autoencoder: 784-128-32-128-784, ReLU code, sigmoid + BCE, batch 32, 3 epochs.
    Blog,
    /// A deeper autoencoder whose codes cluster (N2D's encoder): 784-500-500-2000-10, linear
    /// 10-d code, mirrored decoder, MSE, batch 256.
    Deep,
}

/// What a recipe sets.
pub struct RecipeValues {
    pub layers: &'static str,
    /// The code layer is linear (else ReLU like every hidden layer).
    pub linear_code: bool,
    pub loss: Loss,
    pub batch: usize,
    pub epochs: usize,
}

impl Recipe {
    /// The recipe's model.
    pub fn model(self) -> crate::model::ModelSpec {
        let values = self.values();
        let widths = crate::model::parse_widths(values.layers).expect("a recipe's widths parse");
        crate::model::ModelSpec::standard(widths, values.linear_code, values.loss)
    }

    pub fn values(self) -> RecipeValues {
        match self {
            Recipe::Blog => RecipeValues {
                layers: "784,128,32,128,784",
                linear_code: false,
                loss: Loss::Bce,
                batch: 32,
                epochs: 3,
            },
            Recipe::Deep => RecipeValues {
                layers: "784,500,500,2000,10,2000,500,500,784",
                linear_code: true,
                loss: Loss::Mse,
                batch: 256,
                epochs: 20,
            },
        }
    }
}
