"""The paper's analysis, for tools/analysis and the tests: complexity counting
(:mod:`.complexity`), the channel-configuration search (:mod:`.search`) and
the rank study (:mod:`.rank_study`). ``import rexnet_mm`` does not load it;
import the submodules directly."""
