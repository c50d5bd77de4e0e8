# ReXNet-1.0x fine-tuned on OxfordIIITPet (37 classes; beyond the paper) from ImageNet weights.
# Data: data/Oxford-IIIT_Pets in the layout of mmpretrain's OxfordIIITPet dataset class.
#   python tools/train.py configs/classification/finegrained/rexnet-1.0x_1xb64_oxford-pets.py
_base_ = './rexnet-1.0x_1xb64_finetune-base.py'

num_classes = 37
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='OxfordIIITPet', data_root='data/Oxford-IIIT_Pets', split='trainval'))
val_dataloader = dict(
    dataset=dict(type='OxfordIIITPet', data_root='data/Oxford-IIIT_Pets', split='test'))
test_dataloader = val_dataloader
