"""Small diffusers pipelines built from configs with seeded random weights
(nothing is downloaded): a class-conditional DiTPipeline and a text-to-image
PixArtAlphaPipeline with a tiny T5 encoder and a word-level tokenizer made
here. Both are real diffusers pipelines; only the sizes are small.
"""

import torch


def _vae(blocks=2):
    from diffusers import AutoencoderKL

    # Latents are 2 ** (blocks - 1) times smaller than the image.
    return AutoencoderKL(block_out_channels=[32] * blocks, in_channels=3,
                         out_channels=3, latent_channels=4,
                         down_block_types=["DownEncoderBlock2D"] * blocks,
                         up_block_types=["UpDecoderBlock2D"] * blocks,
                         norm_num_groups=32).eval()


# The transformers' configs here; benchmarks/diffusers_fullsize.py passes
# the published sizes instead.
DIT_SMALL = dict(num_attention_heads=2, attention_head_dim=8, num_layers=2,
                 sample_size=8)
PIXART_SMALL = dict(num_attention_heads=2, attention_head_dim=8, num_layers=2,
                    cross_attention_dim=16, sample_size=8, caption_channels=32)


def dit_pipeline(seed=0, config=None, vae_blocks=2):
    """DiT-style (adaLN-zero, learned sigma), 8x8 latents, 16x16 images,
    DDIM sampling."""
    from diffusers import DDIMScheduler, DiTPipeline, DiTTransformer2DModel

    torch.manual_seed(seed)
    transformer = DiTTransformer2DModel(
        in_channels=4, out_channels=8, patch_size=2, num_embeds_ada_norm=1000,
        norm_type="ada_norm_zero", **(config or DIT_SMALL)).eval()
    pipe = DiTPipeline(transformer=transformer, vae=_vae(vae_blocks),
                       scheduler=DDIMScheduler())
    pipe.set_progress_bar_config(disable=True)
    return pipe


# The words of the tokenizer's vocabulary: prompts are made of these.
WORDS = [f"w{i}" for i in range(61)]


def pixart_pipeline(seed=0, config=None, vae_blocks=2):
    """PixArt-alpha style (adaLN-single, cross-attention to T5 features),
    any resolution (use_resolution_binning=False), DPM-Solver++ sampling.
    The T5 encoder is 2 small layers whose width is the transformer's
    caption_channels."""
    from diffusers import (DPMSolverMultistepScheduler, PixArtAlphaPipeline,
                           PixArtTransformer2DModel)
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    torch.manual_seed(seed)
    config = config or PIXART_SMALL
    transformer = PixArtTransformer2DModel(**{
        "in_channels": 4, "out_channels": 8, "patch_size": 2,
        "norm_type": "ada_norm_single", "use_additional_conditions": False,
        **config}).eval()
    vocab = ["<pad>", "</s>", "<unk>"] + WORDS
    words = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)},
                                       unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words,
                                        pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>")
    text_encoder = T5EncoderModel(T5Config(
        vocab_size=len(vocab), d_model=config["caption_channels"], d_kv=8,
        d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8)).eval()
    pipe = PixArtAlphaPipeline(tokenizer=tokenizer, text_encoder=text_encoder,
                               vae=_vae(vae_blocks), transformer=transformer,
                               scheduler=DPMSolverMultistepScheduler())
    pipe.set_progress_bar_config(disable=True)
    return pipe


# Arguments of the PixArt calls in the tests: 16x16 images (8x8 latents),
# prompts padded to 16 tokens; clean_caption needs packages not installed.
PIXART_CALL = dict(height=16, width=16, use_resolution_binning=False,
                   max_sequence_length=16, clean_caption=False)
# Those of them that shape the transformer's inputs (compile_transformer's
# call_kwargs; height and width are its own arguments).
PIXART_SHAPING = dict(use_resolution_binning=False, max_sequence_length=16,
                      clean_caption=False)


def generate(pipe, steps=4, seed=0, **kwargs):
    """The pipeline's image (numpy, [B, H, W, 3] in [0, 1]) for a seed."""
    import inspect

    if "class_labels" in inspect.signature(pipe.__call__).parameters:
        kwargs.setdefault("class_labels", [1])
    else:
        kwargs.setdefault("prompt", ["w1 w2 w3"])
    with torch.no_grad():
        return pipe(num_inference_steps=steps, output_type="np",
                    generator=torch.Generator().manual_seed(seed),
                    **kwargs).images
