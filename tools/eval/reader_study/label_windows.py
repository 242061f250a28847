import os,json,re,sys
WORK=os.environ.get('WORK', '/tmp/reader-study')
def norm(s): return re.sub(r'\s+',' ',s).lower()
SETS={'sqlite-docs_eval':'sqlite-docs/eval','sqlite-docs_heldout':'sqlite-docs/heldout','sqlite-docs_heldout-b':'sqlite-docs/heldout-b'}
for name in sys.argv[1:]:
    setdir=SETS.get(name,name)
    D='corpora/'+setdir
    keys={json.loads(l)['_id']:json.loads(l)['contains'] for l in open(D+'/answers.jsonl')}
    qs={json.loads(l)['text']:json.loads(l)['_id'] for l in open(D+'/queries.jsonl')}
    got={}
    for l in open(f'{WORK}/dump/{name}.jsonl'):
        r=json.loads(l)
        if r['q'] in qs: got[qs[r['q']]]=r
    out=open(f'{WORK}/p-{name}.jsonl','w'); npos=0
    for qid,r in got.items():
        if qid not in keys: continue
        ks=[k.lower() for k in keys[qid]]
        lab=[int(any(k in norm(w['text']) for k in ks)) for w in r['windows']]
        npos+=any(lab)
        out.write(json.dumps({'id':qid,'q':r['q'],'windows':r['windows'],'labels':lab})+'\n')
    print(name,len(got),'answerable',sum(1 for q in got if q in keys),'with key window',npos)
