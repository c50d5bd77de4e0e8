# ReXNet-1.0x fine-tuned on Flowers102 (102 classes;
# one of the paper's transfer sets) from ImageNet weights.
# Data: data/flowers102 in the layout of mmpretrain's Flowers102 dataset class.
#   python tools/train.py configs/classification/finegrained/rexnet-1.0x_1xb64_flowers102.py
_base_ = './rexnet-1.0x_1xb64_finetune-base.py'

num_classes = 102
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='Flowers102', data_root='data/flowers102', split='trainval'))
val_dataloader = dict(
    dataset=dict(type='Flowers102', data_root='data/flowers102', split='test'))
test_dataloader = val_dataloader
