//! The vocabulary of the generated data: models, datasets, users and text.
//!
//! Lists are ordered by popularity: generators pick from them with
//! [`Draw::zipf`], so `resnet50` and `alice` are common and the tail is rare. A few
//! names contain `bert`, `gpt` or `transformer` (ranks 6, 10, 12, 14 and 18) so
//! that `LIKE '%bert%'` and full-text searches match a small fraction of rows;
//! display names are mixed case (`BERT-base`), so `lower(name)` differs from `name`.
//! Free text comes from `fake`, drawn once per seed into pools (generating it per
//! row would cost more than the COPY).

use fake::Fake;
use fake::faker::company::en::{Bs, Buzzword, CatchPhrase};
use fake::faker::lorem::en::Sentence;
use fake::faker::name::en::{FirstName, LastName};

use super::common::{Draw, Key, chunk_rng};

/// Broad kind of model: decides parameters, metrics and datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Image classification, detection, segmentation.
    Vision,
    /// Text models.
    Nlp,
    /// Gradient-boosted trees and classic ML on tables.
    Tabular,
    /// Large language model fine-tuning.
    Llm,
    /// Forecasting and sequence regression (no accuracy).
    Forecast,
    /// Speech and audio.
    Audio,
}

/// A model the platform trains.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// Name as it appears in model names (lower case).
    pub name: &'static str,
    /// Name as people write it (`BERT-base`), for names where case matters.
    pub display: &'static str,
    /// Framework (one of seed 001's `valid_framework` values).
    pub framework: &'static str,
    /// Architecture kind (platform `model_type`).
    pub model_type: &'static str,
    /// Kind of model.
    pub family: Family,
    /// Datasets it is trained on, most common first.
    pub datasets: &'static [&'static str],
}

const fn m(
    name: &'static str,
    display: &'static str,
    framework: &'static str,
    model_type: &'static str,
    family: Family,
    datasets: &'static [&'static str],
) -> Model {
    Model {
        name,
        display,
        framework,
        model_type,
        family,
        datasets,
    }
}

use Family::*;

/// Models by popularity.
#[rustfmt::skip]
pub const MODELS: &[Model] = &[
    m("resnet50", "ResNet50", "pytorch", "cnn", Vision, &["imagenet-1k", "cifar-100", "food-101"]),
    m("xgboost-fraud", "XGBoost-Fraud", "xgboost", "gbdt", Tabular, &["credit-card-fraud", "ieee-cis-fraud"]),
    m("yolov8", "YOLOv8", "pytorch", "cnn", Vision, &["coco-2017", "open-images-v7", "pascal-voc"]),
    m("efficientnet-b0", "EfficientNet-B0", "tensorflow", "cnn", Vision, &["imagenet-1k", "cifar-10"]),
    m("lstm-forecast", "LSTM-Forecast", "tensorflow", "rnn", Forecast, &["energy-consumption-hourly", "retail-sales-monthly"]),
    m("bert-base", "BERT-base", "tensorflow", "transformer", Nlp, &["imdb-reviews", "squad-v2", "glue-sst2"]),
    m("unet", "UNet", "pytorch", "cnn", Vision, &["medical-ct-scans", "cityscapes"]),
    m("lightgbm-churn", "LightGBM-Churn", "sklearn", "gbdt", Tabular, &["telco-churn", "bank-marketing"]),
    m("whisper-small", "Whisper-small", "pytorch", "transformer", Audio, &["librispeech-960h", "common-voice-16"]),
    m("gpt2-medium", "GPT2-medium", "pytorch", "transformer", Nlp, &["openwebtext", "wikitext-103"]),
    m("resnet18", "ResNet18", "pytorch", "cnn", Vision, &["cifar-10", "imagenet-1k"]),
    m("distilbert", "DistilBERT", "pytorch", "transformer", Nlp, &["imdb-reviews", "ag-news", "squad-v2"]),
    m("prophet-sales", "Prophet-Sales", "sklearn", "additive", Forecast, &["retail-sales-monthly", "web-traffic-daily"]),
    m("transformer-xl", "Transformer-XL", "jax", "transformer", Nlp, &["wikitext-103", "enwik8"]),
    m("mistral-7b-lora", "Mistral-7B-LoRA", "pytorch", "llm", Llm, &["custom-instruction-dataset", "alpaca-52k"]),
    m("vgg-audio", "VGG-Audio", "tensorflow", "cnn", Audio, &["urbansound8k", "esc-50"]),
    m("gcn-molecules", "GCN-Molecules", "pytorch", "gnn", Tabular, &["qm9-molecules", "ogbg-molhiv"]),
    m("roberta-large", "RoBERTa-large", "pytorch", "transformer", Nlp, &["mnli", "glue-sst2"]),
    m("stylegan3", "StyleGAN3", "pytorch", "gan", Vision, &["ffhq-512x512", "afhq"]),
    m("t5-small", "T5-small", "jax", "transformer", Nlp, &["wmt14-en-fr", "cnn-dailymail"]),
    m("clip-vit-b32", "CLIP-ViT-B32", "pytorch", "transformer", Vision, &["laion-400m-subset", "coco-2017"]),
    m("svd-recommender", "SVD-Recommender", "sklearn", "matrix-factorization", Forecast, &["movielens-25m"]),
    m("esrgan", "ESRGAN", "mxnet", "gan", Vision, &["div2k-flickr2k"]),
    m("llama-3-8b-qlora", "Llama-3-8B-QLoRA", "pytorch", "llm", Llm, &["custom-instruction-dataset", "dolly-15k"]),
    m("ppo-atari", "PPO-Atari", "pytorch", "rl", Tabular, &["atari-breakout", "atari-pong"]),
];

/// Where training runs execute, most used first.
pub const COMPUTE_TARGETS: &[&str] = &[
    "k8s-gpu-a100",
    "aws-batch-cpu",
    "gcp-vertex-ai-v100",
    "on-premise-gpu",
    "aws-sagemaker-p3",
    "k8s-gpu-v100",
    "on-premise-cpu",
    "gcp-vertex-ai-t4",
    "aws-p4d-24xlarge",
    "gcp-tpu-v3",
    "gcp-tpu-v4",
    "k8s-gpu-a100-cluster",
];

/// Learning rates as written in experiment names and parameters.
pub const LEARNING_RATES: &[&str] = &[
    "0.001", "0.01", "0.0001", "0.0003", "0.003", "0.1", "0.00005", "0.03",
];

/// Optimizers, most used first.
/// (`adam` second, so that `optimizer = 'adam'` selects about a fifth of the rows.)
pub const OPTIMIZERS: &[&str] = &["adamw", "adam", "sgd", "rmsprop", "lamb", "adafactor"];

/// Users whose handles every comparison can rely on, most active first.
const FIXED_USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// Free text and user handles drawn once per seed.
#[derive(Debug)]
pub struct Pools {
    /// User handles by activity rank: `alice`, `bob`, … then `first.last<k>`.
    pub users: Vec<String>,
    /// English-like sentences (catch phrases and business speak).
    pub phrases: Vec<String>,
    /// Lorem-ipsum sentences, for descriptions.
    pub sentences: Vec<String>,
    /// Distinct single buzzwords, for tag names.
    pub words: Vec<String>,
}

/// Pool sizes: large enough that repeats are rare within a page of results.
const PHRASES: usize = 4096;
const SENTENCES: usize = 2048;
const WORD_DRAWS: usize = 2000;

impl Pools {
    /// Draws the pools for `seed`, with `users` user handles.
    pub fn new(seed: u64, users: u64) -> Pools {
        let mut rng = chunk_rng(Key::new(seed, "pools"), 0);
        let users = (0..users as usize)
            .map(|k| match FIXED_USERS.get(k) {
                Some(name) => name.to_string(),
                None => {
                    let first: String = FirstName().fake_with_rng(&mut rng);
                    let last: String = LastName().fake_with_rng(&mut rng);
                    let handle = format!("{}.{}{k}", first, last).to_lowercase();
                    // Handles fit owner VARCHAR(50) and contain no quotes or spaces.
                    handle
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                        .take(40)
                        .collect()
                }
            })
            .collect();
        let phrases = (0..PHRASES)
            .map(|k| {
                if k % 2 == 0 {
                    CatchPhrase().fake_with_rng(&mut rng)
                } else {
                    Bs().fake_with_rng(&mut rng)
                }
            })
            .collect();
        let sentences = (0..SENTENCES)
            .map(|_| Sentence(6..16).fake_with_rng(&mut rng))
            .collect();
        // The buzzword list is finite: keep the distinct ones among a fixed number of draws.
        let mut words: Vec<String> = Vec::new();
        for _ in 0..WORD_DRAWS {
            let w: String = Buzzword().fake_with_rng(&mut rng);
            let w = w.to_lowercase();
            if w.chars().all(|c| c.is_ascii_alphabetic()) && !words.contains(&w) {
                words.push(w);
            }
        }
        if words.is_empty() {
            words.push("topic".into());
        }
        Pools {
            users,
            phrases,
            sentences,
            words,
        }
    }

    /// A user handle, Zipf by activity.
    #[inline]
    pub fn user(&self, d: &mut impl Draw) -> &str {
        &self.users[d.zipf(self.users.len() as u64) as usize]
    }

    /// A user id (1-based), Zipf by activity, for the integer `user_id` columns.
    #[inline]
    pub fn user_id(&self, d: &mut impl Draw) -> i32 {
        d.zipf(self.users.len() as u64) as i32 + 1
    }

    /// A phrase, uniformly.
    #[inline]
    pub fn phrase(&self, d: &mut impl Draw) -> &str {
        &self.phrases[d.below(self.phrases.len() as u64) as usize]
    }

    /// A lorem sentence, uniformly.
    #[inline]
    pub fn sentence(&self, d: &mut impl Draw) -> &str {
        &self.sentences[d.below(self.sentences.len() as u64) as usize]
    }
}

/// A model, Zipf by popularity.
#[inline]
pub fn model(d: &mut impl Draw) -> &'static Model {
    &MODELS[d.zipf(MODELS.len() as u64) as usize]
}

/// One of the model's datasets, the first most often.
#[inline]
pub fn dataset(d: &mut impl Draw, model: &Model) -> &'static str {
    model.datasets[d.zipf(model.datasets.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_deterministic_and_clean() {
        let a = Pools::new(7, 100);
        let b = Pools::new(7, 100);
        assert_eq!(a.users, b.users);
        assert_eq!(a.phrases, b.phrases);
        assert_eq!(&a.users[..2], ["alice", "bob"]);
        assert!(a.users.iter().all(|u| !u.is_empty() && u.len() <= 50));
        let mut sorted = a.words.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), a.words.len());
        assert_ne!(Pools::new(8, 100).phrases, a.phrases);
    }
}
