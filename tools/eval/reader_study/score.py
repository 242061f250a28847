import os,json,sys,pickle,numpy as np,jax,jax.numpy as jnp
WORK=os.environ.get('WORK', '/tmp/reader-study')
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__))); from bert import *
pk=sys.argv[1]; sets=sys.argv[2:]
params=load() if pk=='base' else jax.tree_util.tree_map(jnp.asarray,pickle.load(open(pk,'rb')))
def embed(p,ids,m): return pool(encode(p,ids,m),m)
emb=jax.jit(embed)
def E(texts):
    out=[]
    for i in range(0,len(texts),32):
        ids,m=batch_ids(texts[i:i+32],128); T=128
        ids=np.pad(ids,((0,0),(0,T-ids.shape[1]))); m=np.pad(m,((0,0),(0,T-m.shape[1])))
        out.append(np.array(emb(params,jnp.asarray(ids),jnp.asarray(m)))[:len(texts[i:i+32])])
    return np.concatenate(out)
tot=[0,0,0]
for name in sets:
    hit=hs=n=0
    for l in open(f'{WORK}/p-{name}.jsonl'):
        r=json.loads(l)
        if not any(r['labels']): continue
        n+=1; w=r['windows']; sim=E([x['scored'] for x in w])@E([r['q']])[0]
        full=[s+x['cheap']+x['prior'] for s,x in zip(sim,w)]
        hit+=r['labels'][int(np.argmax(full))]; hs+=r['labels'][int(np.argmax(sim))]
    tot[0]+=n; tot[1]+=hit; tot[2]+=hs
    print(f'{pk:6.6} {name:18} n={n:3} full {hit:3} ({hit/n:.2f}) sim {hs:3} ({hs/n:.2f})',flush=True)
print('total',tot)
