# ReXNet-1.0x fine-tuned on StanfordCars (196 classes;
# one of the paper's transfer sets) from ImageNet weights.
# Data: data/stanfordcars in the layout of mmpretrain's StanfordCars dataset class.
#   python tools/train.py configs/classification/finegrained/rexnet-1.0x_1xb64_stanford-cars.py
_base_ = './rexnet-1.0x_1xb64_finetune-base.py'

num_classes = 196
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='StanfordCars', data_root='data/stanfordcars', split='train'))
val_dataloader = dict(
    dataset=dict(type='StanfordCars', data_root='data/stanfordcars', split='test'))
test_dataloader = val_dataloader
