"""t6 in bench/NOTES.md: ops.gemm and ops.linear_loss against NumPy, one thread, CPU time per call
(time.process_time: meaningful on a shared machine), median of 15.  python bench/micro/t6_width.py"""
import time

import imgclf
import numpy as np
from imgclf import ops
from threadpoolctl import threadpool_limits

imgclf.set_num_threads(1)
rng = np.random.default_rng(0)
def med(f, r=15):
    ts=[]
    for _ in range(r):
        t=time.process_time(); f(); ts.append(time.process_time()-t)
    return np.median(ts)
with threadpool_limits(1):
    A=rng.random((256,784),dtype=np.float32); B=rng.random((784,256),dtype=np.float32)
    ti=med(lambda: ops.gemm(A,B)); tn=med(lambda: A@B)
    fl=2*256*784*256
    print(f"gemm 256x784@784x256 1 thread: imgclf {ti*1e3:.2f} ms ({fl/ti/1e9:.1f} GF/s), numpy {tn*1e3:.2f} ms ({fl/tn/1e9:.1f} GF/s), ratio numpy/imgclf {tn/ti:.2f}")
    X=rng.integers(0,256,(60000,784),dtype=np.uint8); y=rng.integers(0,10,60000).astype(np.int64)
    W=(rng.standard_normal((784,10))*0.01).astype(np.float32); b=np.zeros(10,np.float32)
    mean=X[:1000].mean(0).astype(np.float32)
    rows=rng.integers(0,60000,256).astype(np.int64)
    ti=med(lambda: ops.linear_loss(X,y[rows],W,b,"softmax",rows=rows,scale=1/255,shift=mean,reg=1e-4))
    def npref():
        x=X[rows].astype(np.float32)/255-mean; s=x@W+b; s-=s.max(1,keepdims=True); p=np.exp(s); p/=p.sum(1,keepdims=True)
        l=-np.log(p[np.arange(256),y[rows]]).mean(); p[np.arange(256),y[rows]]-=1; p/=256; dW=x.T@p+2e-4*W; db=p.sum(0); return l,dW,db
    tn=med(npref)
    print(f"linear_loss softmax batch 256 of uint8 Fashion-shaped, 1 thread: imgclf {ti*1e6:.0f} us, numpy {tn*1e6:.0f} us, ratio {tn/ti:.2f}")
