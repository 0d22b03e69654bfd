"""The predictors ``seqtasks.load`` returns, one class a file, by the kind of export each
serves (``seqtasks.export.kinds``)."""

from seqtasks.export import kinds
from seqtasks.inference.predictors.autoencoder import AutoencoderPredictor
from seqtasks.inference.predictors.captioner import CaptionPredictor
from seqtasks.inference.predictors.classifier import ClassifierPredictor
from seqtasks.inference.predictors.language_model import LanguageModelPredictor
from seqtasks.inference.predictors.tagger import TaggerPredictor
from seqtasks.inference.predictors.translation import TranslationPredictor

PREDICTORS = {kinds.CLASSIFIER: ClassifierPredictor, kinds.TAGGER: TaggerPredictor,
              kinds.LANGUAGE_MODEL: LanguageModelPredictor,
              kinds.SEQUENCE_TO_SEQUENCE: TranslationPredictor,
              kinds.SEQUENCE_AUTOENCODER: AutoencoderPredictor, kinds.CAPTIONER: CaptionPredictor}
