import os,json,sys,time,random,numpy as np,jax,jax.numpy as jnp,argparse,pickle
WORK=os.environ.get('WORK', '/tmp/reader-study')
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__))); from bert import *
ap=argparse.ArgumentParser(); ap.add_argument('--train',nargs='*',default=[]); ap.add_argument('--test',nargs='*',default=[])
ap.add_argument('--epochs',type=int,default=2); ap.add_argument('--lr',type=float,default=2e-5)
ap.add_argument('--group',type=int,default=8); ap.add_argument('--maxlen',type=int,default=96); ap.add_argument('--scale',type=float,default=20)
ap.add_argument('--save',default=''); ap.add_argument('--pseudo',nargs='*',default=[]); ap.add_argument('--qb',type=int,default=4)
a=ap.parse_args(); random.seed(0)
params=load()
def embed(p,ids,m): return pool(encode(p,ids,m),m)
groups=[]
for name in a.train:
    for l in open(f'{WORK}/p-{name}.jsonl'):
        r=json.loads(l); pos=[w['scored'] for w,y in zip(r['windows'],r['labels']) if y]; neg=[w['scored'] for w,y in zip(r['windows'],r['labels']) if not y]
        if pos and neg: groups.append((r['q'],pos,neg))
for name in a.pseudo:
    for l in open(f'{WORK}/pseudo-{name}.jsonl'):
        r=json.loads(l)
        if r['pos'] and r['neg']: groups.append((r['q'],r['pos'],r['neg']))
print('groups',len(groups),flush=True)
G=a.group
def loss_fn(p,qi,qm,wi,wm):
    q=embed(p,qi,qm); w=embed(p,wi,wm).reshape(q.shape[0],G,-1)
    s=jnp.einsum('bd,bgd->bg',q,w)*a.scale
    return -jax.nn.log_softmax(s,-1)[:,0].mean()
grad=jax.jit(jax.value_and_grad(loss_fn))
mom=jax.tree_util.tree_map(jnp.zeros_like,params); vel=jax.tree_util.tree_map(jnp.zeros_like,params)
@jax.jit
def adam(params,g,mom,vel,t,lr):
    mom=jax.tree_util.tree_map(lambda m,g:0.9*m+0.1*g,mom,g); vel=jax.tree_util.tree_map(lambda v,g:0.999*v+0.001*g*g,vel,g)
    return jax.tree_util.tree_map(lambda p,m,v:p-lr*(m/(1-0.9**t))/(jnp.sqrt(v/(1-0.999**t))+1e-8),params,mom,vel),mom,vel
def ids_fixed(texts,T):
    ids,m=batch_ids(texts,T); return np.pad(ids,((0,0),(0,T-ids.shape[1]))),np.pad(m,((0,0),(0,T-m.shape[1])))
t=0; start=time.time()
for ep in range(a.epochs):
    random.shuffle(groups)
    for bi in range(0,len(groups)-a.qb+1,a.qb):
        qs=[];ws=[]
        for q,pos,neg in groups[bi:bi+a.qb]:
            ns=random.sample(neg,min(G-1,len(neg)))
            while len(ns)<G-1: ns.append(random.choice(neg))
            qs.append(q); ws+= [random.choice(pos)]+ns
        qi,qm=ids_fixed(qs,40); wi,wm=ids_fixed(ws,a.maxlen)
        t+=1
        l,g=grad(params,jnp.asarray(qi),jnp.asarray(qm),jnp.asarray(wi),jnp.asarray(wm))
        params,mom,vel=adam(params,g,mom,vel,t,a.lr)
        if t%20==0: print(f'ep {ep} step {t} loss {float(l):.3f} {time.time()-start:.0f}s',flush=True)
emb=jax.jit(embed)
def E(texts):
    out=[]
    for i in range(0,len(texts),32):
        ids,m=ids_fixed(texts[i:i+32],128); out.append(np.array(emb(params,jnp.asarray(ids),jnp.asarray(m)))[:len(texts[i:i+32])])
    return np.concatenate(out)
for name in a.test:
    hit=hs=n=0
    for l in open(f'{WORK}/p-{name}.jsonl'):
        r=json.loads(l)
        if not any(r['labels']): continue
        n+=1; w=r['windows']; sim=E([x['scored'] for x in w])@E([r['q']])[0]
        full=[s+x['cheap']+x['prior'] for s,x in zip(sim,w)]
        hit+=r['labels'][int(np.argmax(full))]; hs+=r['labels'][int(np.argmax(sim))]
    print('TEST',name,n,'product',hit,'%.2f'%(hit/max(n,1)),'sim',hs,'%.2f'%(hs/max(n,1)),flush=True)
if a.save: pickle.dump(jax.tree_util.tree_map(np.asarray,params),open(a.save,'wb'))
