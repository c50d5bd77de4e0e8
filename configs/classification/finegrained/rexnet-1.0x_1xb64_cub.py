# ReXNet-1.0x fine-tuned on CUB (200 classes; beyond the paper) from ImageNet weights.
# Data: data/CUB_200_2011 in the layout of mmpretrain's CUB dataset class.
#   python tools/train.py configs/classification/finegrained/rexnet-1.0x_1xb64_cub.py
_base_ = './rexnet-1.0x_1xb64_finetune-base.py'

num_classes = 200
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='CUB', data_root='data/CUB_200_2011', split='train'))
val_dataloader = dict(
    dataset=dict(type='CUB', data_root='data/CUB_200_2011', split='test'))
test_dataloader = val_dataloader
