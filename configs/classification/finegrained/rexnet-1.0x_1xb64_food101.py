# ReXNet-1.0x fine-tuned on Food101 (101 classes; one of the paper's
# transfer sets) from ImageNet weights.
# Data: data/food-101 in the layout of mmpretrain's Food101 dataset class.
#   python tools/train.py configs/classification/finegrained/rexnet-1.0x_1xb64_food101.py
_base_ = './rexnet-1.0x_1xb64_finetune-base.py'

num_classes = 101
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='Food101', data_root='data/food-101', split='train'))
val_dataloader = dict(
    dataset=dict(type='Food101', data_root='data/food-101', split='test'))
test_dataloader = val_dataloader
