/**
 * AWS's PyTorch training Deep Learning Container, which runs the SynthForge trainer in SageMaker
 * script mode: the image is AWS's, the code is ours (lib/trainer-source.ts), so `cdk deploy` builds
 * no image and needs no Docker (the build machines have no Docker engine).
 *
 * The registry account of each region is copied from the SageMaker Python SDK's image registry,
 * `sagemaker-core/src/sagemaker/core/image_uri_config/pytorch.json` (aws/sagemaker-python-sdk,
 * commit 3203e4996219799e7fcad214c7925ffd8594da1f), `training.versions["2.6.0"].registries`: the
 * table `sagemaker.image_uris.retrieve("pytorch", region, version="2.6.0", image_scope="training")`
 * reads. The image URI is built as that function builds it: `<account>.dkr.ecr.<region>.<suffix>/
 * pytorch-training:<version>-<cpu|gpu>-<py>`. CDK's own `FactName.DLC_REPOSITORY_ACCOUNT` misses
 * several of these regions (af-south-1, il-central-1, ca-west-1, ...), hence a table of our own.
 */

/** PyTorch 2.6 on Python 3.12 (the trainer needs torch ≥ 1.13, torchvision ≥ 0.14). */
export const PYTORCH_TRAINING_REPOSITORY = 'pytorch-training';
export const PYTORCH_TRAINING_VERSION = '2.6.0';
export const PYTORCH_TRAINING_PY_VERSION = 'py312';

/** The Deep Learning Containers registry account of each region (source above). */
export const PYTORCH_TRAINING_REGISTRIES: Readonly<Record<string, string>> = {
  'af-south-1': '626614931356',
  'ap-east-1': '871362719292',
  'ap-east-2': '975050140332',
  'ap-northeast-1': '763104351884',
  'ap-northeast-2': '763104351884',
  'ap-northeast-3': '364406365360',
  'ap-south-1': '763104351884',
  'ap-south-2': '772153158452',
  'ap-southeast-1': '763104351884',
  'ap-southeast-2': '763104351884',
  'ap-southeast-3': '907027046896',
  'ap-southeast-4': '457447274322',
  'ap-southeast-5': '550225433462',
  'ap-southeast-6': '633930458069',
  'ap-southeast-7': '590183813437',
  'ca-central-1': '763104351884',
  'ca-west-1': '204538143572',
  'cn-north-1': '727897471807',
  'cn-northwest-1': '727897471807',
  'eu-central-1': '763104351884',
  'eu-central-2': '380420809688',
  'eu-north-1': '763104351884',
  'eu-south-1': '692866216735',
  'eu-south-2': '503227376785',
  'eu-west-1': '763104351884',
  'eu-west-2': '763104351884',
  'eu-west-3': '763104351884',
  'il-central-1': '780543022126',
  'me-central-1': '914824155844',
  'me-south-1': '217643126080',
  'mx-central-1': '637423239942',
  'sa-east-1': '763104351884',
  'us-east-1': '763104351884',
  'us-east-2': '763104351884',
  'us-gov-east-1': '446045086412',
  'us-gov-west-1': '442386744353',
  'us-west-1': '763104351884',
  'us-west-2': '763104351884',
};

export type TrainingProcessor = 'cpu' | 'gpu';

/**
 * The image's processor for a stage's training instance types: `gpu` when any of them is a GPU
 * instance (the g, gr and p families: gr6 is g6 with more memory), since one image serves every run of the stage and the GPU build
 * of PyTorch also runs on a CPU instance (CUDA is then simply unavailable); `cpu` otherwise, which
 * is a much smaller pull.
 */
export function trainingProcessorFor(instanceTypes: readonly string[]): TrainingProcessor {
  return instanceTypes.some((type) => /^ml\.(gr?|p)\d/.test(type)) ? 'gpu' : 'cpu';
}

/** `pytorch-training:2.6.0-gpu-py312`, as the SageMaker Python SDK tags it. */
export function pytorchTrainingTag(processor: TrainingProcessor): string {
  return `${PYTORCH_TRAINING_VERSION}-${processor}-${PYTORCH_TRAINING_PY_VERSION}`;
}
