# ReXNet-1.0x fine-tuned on OxfordIIITPet (37 classes; beyond the paper) from ImageNet weights.
# Data: data/Oxford-IIIT_Pets in the layout of mmpretrain's OxfordIIITPet dataset class.
#   python tools/train.py configs/finegrained/rexnet_1.0x_oxford_pets.py
_base_ = './rexnet_1.0x_finetune_base.py'

num_classes = 37
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='OxfordIIITPet', data_root='data/Oxford-IIIT_Pets', split='trainval'))
val_dataloader = dict(
    dataset=dict(type='OxfordIIITPet', data_root='data/Oxford-IIIT_Pets', split='test'))
test_dataloader = val_dataloader
