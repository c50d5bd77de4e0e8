# ReXNet-1.0x fine-tuned on FGVCAircraft (100 classes;
# one of the paper's transfer sets) from ImageNet weights.
# Data: data/fgvc_aircraft in the layout of mmpretrain's FGVCAircraft dataset class.
#   python tools/train.py configs/classification/finegrained/rexnet-1.0x_1xb64_fgvc-aircraft.py
_base_ = './rexnet-1.0x_1xb64_finetune-base.py'

num_classes = 100
model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    dataset=dict(type='FGVCAircraft', data_root='data/fgvc_aircraft', split='trainval'))
val_dataloader = dict(
    dataset=dict(type='FGVCAircraft', data_root='data/fgvc_aircraft', split='test'))
test_dataloader = val_dataloader
