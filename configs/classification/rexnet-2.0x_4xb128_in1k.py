# ReXNet-2.0x on ImageNet-1k (released top-1 81.6%); the recipe of rexnet-1.0x_4xb128_in1k.py.
_base_ = './rexnet-1.0x_4xb128_in1k.py'

arch = '2.0x'
drop_path_rate = 0.2  # stochastic depth for the large models, as advised
model = dict(
    backbone=dict(arch=arch, drop_path_rate=drop_path_rate),
    head=dict(arch=arch))
