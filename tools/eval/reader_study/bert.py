"""MiniLM (all-MiniLM-L6-v2) forward pass in jax.numpy, for the reader study only."""
import os, jax, jax.numpy as jnp, numpy as np, json
from safetensors.numpy import load_file
from tokenizers import Tokenizer
MD=os.environ.get('MODEL_DIR', 'models/all-MiniLM-L6-v2')
tok=Tokenizer.from_file(MD+'/tokenizer.json'); tok.no_padding(); tok.no_truncation()
def load():
    d=load_file(MD+'/model.safetensors')
    p={'word':d['embeddings.word_embeddings.weight'],'pos':d['embeddings.position_embeddings.weight'],
       'type':d['embeddings.token_type_embeddings.weight'],'eg':d['embeddings.LayerNorm.weight'],'eb':d['embeddings.LayerNorm.bias'],'layers':[]}
    for i in range(6):
        g=lambda n:d[f'encoder.layer.{i}.{n}']
        p['layers'].append({'q':g('attention.self.query.weight'),'qb':g('attention.self.query.bias'),
          'k':g('attention.self.key.weight'),'kb':g('attention.self.key.bias'),'v':g('attention.self.value.weight'),'vb':g('attention.self.value.bias'),
          'o':g('attention.output.dense.weight'),'ob':g('attention.output.dense.bias'),'ag':g('attention.output.LayerNorm.weight'),'ab':g('attention.output.LayerNorm.bias'),
          'i':g('intermediate.dense.weight'),'ib':g('intermediate.dense.bias'),'f':g('output.dense.weight'),'fb':g('output.dense.bias'),'fg':g('output.LayerNorm.weight'),'fbb':g('output.LayerNorm.bias')})
    return jax.tree_util.tree_map(jnp.asarray,p)
def ln(x,g,b): m=x.mean(-1,keepdims=True); v=((x-m)**2).mean(-1,keepdims=True); return (x-m)/jnp.sqrt(v+1e-12)*g+b
def gelu(x): return 0.5*x*(1+jax.scipy.special.erf(x/jnp.sqrt(2.0)))
def encode(p,ids,mask,types=None):
    B,T=ids.shape
    x=p['word'][ids]+p['pos'][jnp.arange(T)][None]+(p['type'][0] if types is None else p['type'][types])
    x=ln(x,p['eg'],p['eb'])
    am=(1.0-mask[:,None,None,:])*-1e9
    for L in p['layers']:
        q=(x@L['q'].T+L['qb']).reshape(B,T,12,32).transpose(0,2,1,3)
        k=(x@L['k'].T+L['kb']).reshape(B,T,12,32).transpose(0,2,1,3)
        v=(x@L['v'].T+L['vb']).reshape(B,T,12,32).transpose(0,2,1,3)
        a=jax.nn.softmax(q@k.transpose(0,1,3,2)/jnp.sqrt(32.0)+am,-1)
        c=(a@v).transpose(0,2,1,3).reshape(B,T,384)
        x=ln(x+c@L['o'].T+L['ob'],L['ag'],L['ab'])
        h=gelu(x@L['i'].T+L['ib'])
        x=ln(x+h@L['f'].T+L['fb'],L['fg'],L['fbb'])
    return x
def pool(x,mask):
    s=(x*mask[...,None]).sum(1)/mask.sum(1,keepdims=True)
    return s/jnp.linalg.norm(s,axis=-1,keepdims=True)
def batch_ids(texts,maxlen=128):
    enc=[tok.encode(t).ids[:maxlen] for t in texts]
    T=max(len(e) for e in enc)
    ids=np.zeros((len(enc),T),np.int32); m=np.zeros((len(enc),T),np.float32)
    for i,e in enumerate(enc): ids[i,:len(e)]=e; m[i,:len(e)]=1
    return ids,m
def pair_ids(qs,ws,maxlen=128):
    ids_l=[];ty_l=[]
    for q,w in zip(qs,ws):
        a=tok.encode(q).ids; b=tok.encode(w).ids[1:]  # drop CLS of b
        a=a[:40]; b=b[:maxlen-len(a)]
        if b and b[-1]!=102: b[-1]=102
        ids_l.append(a+b); ty_l.append([0]*len(a)+[1]*len(b))
    T=max(len(e) for e in ids_l)
    ids=np.zeros((len(ids_l),T),np.int32); m=np.zeros((len(ids_l),T),np.float32); ty=np.zeros((len(ids_l),T),np.int32)
    for i,(e,t) in enumerate(zip(ids_l,ty_l)): ids[i,:len(e)]=e; m[i,:len(e)]=1; ty[i,:len(t)]=t
    return ids,m,ty
if __name__=='__main__':
    p=load(); ref=json.load(open(os.environ.get('REFERENCE', '../shared/reference/minilm-vectors.json')))
    ids,m=batch_ids(ref['sentences'][:5],256)
    v=np.array(pool(encode(p,jnp.asarray(ids),jnp.asarray(m)),jnp.asarray(m)))
    r=np.array(ref['vectors'][:5]); print('maxdiff',np.abs(v-r).max())
