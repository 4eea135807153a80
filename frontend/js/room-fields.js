// What both room pages share: a room code as it is read aloud, and the fields of a room's locks — which
// config fields a lecturer may lock (every field of GET /api/options `fields`), their names as the
// playground's controls say them, and which controls of the playground set each field.

import { camelCase } from './state.js';
import { fieldLabel } from './controls.js';

// The playground's own words for the fields on its top bar and data column (fallback: controls.js's
// labels, then the schema's title).
const LABELS = {
  learning_rate: 'Learning rate', reg_rate: 'Regularization rate', activation: 'Activation', regularization: 'Regularization',
  problem: 'Problem type', optimizer: 'Optimizer', hidden: 'Hidden layers', features: 'Features (inputs)',
  dataset: 'Dataset', reg_dataset: 'Regression dataset', batch_size: 'Batch size', noise: 'Noise',
  train_ratio: 'Ratio of training to test data', n_classes: 'Classes', n_samples: 'Number of samples',
  standardize: 'Standardize inputs',
};

// The page's controls of a field where its `ui-<name>` class is not the field's camelCase name.
const CONTROLS = {
  learning_rate: '.ui-learningRate', reg_rate: '.ui-regularizationRate', batch_size: '.ui-batchSize',
  train_ratio: '.ui-percTrainData', hidden: '.ui-numHiddenLayers, .layer-heads', problem: '.ui-problem',
  features: '.node.feature, .add-feature-input', dataset: '.ui-dataset, .ui-custom', reg_dataset: '.ui-dataset, .ui-custom',
  seed: '.ui-seed, .ui-regenerate', activation: '.ui-activation, select[aria-label^="Activation of layer"]',
  normalization: '.ui-normalization, select[aria-label^="Normalization of layer"]',
};

/** Fields a lecturer may lock: the engine's config fields (the schema's order), less those no student sets. */
export function lockableFields(options) {
  const internal = new Set(['device', 'custom_points']);
  return Object.keys(options.fields).filter((name) => !internal.has(name));
}

/** A field's name as the playground shows it. */
export const fieldName = (options, field) => LABELS[field] ?? fieldLabel(options, field);

/** A CSS selector of the playground's controls that set `field`. */
export const controlsOf = (field) => CONTROLS[field] ?? `.ui-${camelCase(field)}`;

/** "k7qmx3pa" -> "K7QM-X3PA": a room code as it is read aloud. */
export const spaced = (code) => code.toUpperCase().replace(/-/g, '').replace(/^(.{4})(.+)$/, '$1-$2');
