"""Data-tier codec: the FLEP-AI three-layer image encryption (scramble, wavelet blend, noise), its DnCNN
denoiser, the cipher container, and the quality report.

``exact`` mode (the registry's default) round-trips bit for bit; ``paper`` mode is the paper's lossy float
pipeline with DnCNN denoising on decryption.
"""

from clients.codec.codec import decrypt, decrypt_batch, encrypt, encrypt_batch
from clients.codec.container import Header, read_header
from clients.codec.dncnn import DnCNN, Denoiser, DnCNNWeightsError, load_dncnn
from clients.codec.errors import CodecError, ContainerError, ImageFormatError, KeyFormatError, WrongKeyError
from clients.codec.images import read_image, write_image
from clients.codec.keys import CodecKey
from clients.codec.metrics import npcr_critical, npcr_uaci, uaci_critical, wu_test
from clients.codec.report import analyze_image, run_report

__all__ = [
    "CodecError",
    "CodecKey",
    "ContainerError",
    "Denoiser",
    "DnCNN",
    "DnCNNWeightsError",
    "Header",
    "ImageFormatError",
    "KeyFormatError",
    "WrongKeyError",
    "analyze_image",
    "decrypt",
    "decrypt_batch",
    "encrypt",
    "encrypt_batch",
    "load_dncnn",
    "npcr_critical",
    "npcr_uaci",
    "read_header",
    "read_image",
    "run_report",
    "uaci_critical",
    "wu_test",
    "write_image",
]
